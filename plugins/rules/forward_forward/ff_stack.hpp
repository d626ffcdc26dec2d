#pragma once
// The layers of a Forward-Forward stack and how each reads the one below: only the direction
// of its input passes on, relu(W direction(x) input_scale + b), input_scale 1 (unit length)
// or sqrt(inputs) (RMS 1).
#include <cstdint>
#include <string>
#include <vector>

#include <hebbkit/state.hpp>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

namespace hebbkit::ff {

class Stack {
 public:
  /// rms_input: inputs scaled to RMS 1 instead of length 1; normal_init: weights normal(0,
  /// 1/sqrt(width)) and zero bias instead of torch's Linear default.
  Stack(bool rms_input, bool normal_init) : rms_input_(rms_input), normal_init_(normal_init) {}
  /// New layers start from PREFIX_ff<i>_weight.npy and PREFIX_ff<i>_bias.npy (init: npy).
  void start_from(std::string prefix) { init_prefix_ = std::move(prefix); }

  std::size_t size() const { return layers_.size(); }
  bool empty() const { return layers_.empty(); }
  torch::nn::Linear& layer(std::size_t index) { return layers_.at(index); }
  /// A new layer of `width` on `inputs` on top.
  void add(std::int64_t inputs, std::int64_t width, torch::Device device);
  void pop() { layers_.pop_back(); }
  void clear() { layers_.clear(); }

  /// What layer `index`'s normalised input is multiplied by.
  double input_scale(std::size_t index) const;
  /// Layer `index` on x (differentiable).
  torch::Tensor layer_output(std::size_t index, const torch::Tensor& x);
  /// Every layer's activity for x, bottom first.
  std::vector<torch::Tensor> activations(const torch::Tensor& x);
  /// Layer `index` on x in batches, without a graph.
  torch::Tensor apply_layer(const torch::Tensor& x, std::size_t index);
  /// The layers [0, count) on x, without a graph.
  torch::Tensor through(torch::Tensor x, std::size_t count);

  /// ff<i>_weight and ff<i>_bias for every layer.
  std::vector<NamedTensor> state() const;
  /// Appends the layers state() wrote; DataError when they do not fit together.
  void append_from(const std::vector<NamedTensor>& state);
  std::vector<torch::Tensor> parameters();

 private:
  bool rms_input_, normal_init_;
  std::string init_prefix_;
  std::vector<torch::nn::Linear> layers_;
};

}  // namespace hebbkit::ff
