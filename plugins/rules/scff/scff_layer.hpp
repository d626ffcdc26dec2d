#pragma once
// The layers of a Self-Contrastive Forward-Forward network (Chen, Liu, Laydevant, Grollier,
// Nature Communications 16:5978, 2025) and their local objective, as the authors' code
// computes them: every layer standardises its input row (mean 0, unbiased std 1); the first
// layer reads a pair of images side by side through one set of weights; a layer's goodness
// is the mean of relu(z)^2 over its units; what it passes up is relu(z) or the triangle
// relu(z - mean z).
#include <cstdint>
#include <string>
#include <vector>

#include <hebbkit/state.hpp>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

namespace hebbkit::scff {

/// (x - row mean) / (1e-10 + row std), the std unbiased (torch.std's), as the authors' stdnorm.
torch::Tensor standardize(const torch::Tensor& x);

enum class Activation { Relu, Triangle };
/// What a layer passes up: relu(z), or the triangle relu(z - mean over the row's units).
torch::Tensor activate(const torch::Tensor& z, Activation activation);

/// Mean over units of relu(z)^2, per row.
torch::Tensor goodness(const torch::Tensor& z);

/// One layer's loss: positives' goodness pushed above theta_pos, negatives' below theta_neg,
/// and `penalty` x the positives' mean |goodness| (the authors' lamda).
struct Objective {
  double theta_pos = 1.0;
  double theta_neg = 1.0;
  double penalty = 0.0;
};
/// mean softplus(theta_pos - g_pos) + mean softplus(g_neg - theta_neg) + penalty mean |g_pos|.
torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, const Objective& objective);

class Stack {
 public:
  explicit Stack(Activation activation) : activation_(activation) {}
  /// New layers start from PREFIX_scff<i>_weight.npy and PREFIX_scff<i>_bias.npy.
  void start_from(std::string prefix) { init_prefix_ = std::move(prefix); }

  std::size_t size() const { return layers_.size(); }
  bool empty() const { return layers_.empty(); }
  torch::nn::Linear& layer(std::size_t index) { return layers_.at(index); }
  Activation activation() const { return activation_; }
  /// A layer of `width` on `inputs` on top (torch's Linear initialisation, as the authors').
  /// The first layer's `inputs` are one image's: it reads rows of two images.
  void add(std::int64_t inputs, std::int64_t width, torch::Device device);

  /// Layer `index`'s z for rows x (differentiable). The first layer's rows are pairs [a, b]
  /// standardised together, and z = W a + W b + 2 bias, computed as W (a + b) + 2 bias.
  torch::Tensor preactivation(std::size_t index, const torch::Tensor& x);
  /// activate(preactivation) through layers [0, count), without a graph.
  torch::Tensor through(torch::Tensor x, std::size_t count);
  /// Each layer's activity standardised, bottom first, for single images x (N, D): the first
  /// layer sees each image paired with itself. What the paper's linear readout reads.
  std::vector<torch::Tensor> features(const torch::Tensor& x);

  /// scff<i>_weight and scff<i>_bias for every layer.
  std::vector<NamedTensor> state() const;
  /// Appends the layers state() wrote; DataError when they do not fit together.
  void append_from(const std::vector<NamedTensor>& state);
  std::vector<torch::Tensor> parameters();

 private:
  Activation activation_;
  std::string init_prefix_;
  std::vector<torch::nn::Linear> layers_;
};

}  // namespace hebbkit::scff
