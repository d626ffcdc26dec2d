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

/// (x - row mean) / (1e-10 + row std), the std unbiased (torch.std's), as the authors' stdnorm;
/// a row is all of one sample's values (x (B, D) or (B, C, H, W)), and the shape is kept.
torch::Tensor standardize(const torch::Tensor& x);

enum class Activation { Relu, Triangle };
/// What a layer passes up: relu(z), or the triangle relu(z - mean over the row's units).
torch::Tensor activate(const torch::Tensor& z, Activation activation);

/// Mean over units of relu(z)^2: per row for a dense layer's z (B, K), per row and place
/// for a conv layer's (B, K, H, W).
torch::Tensor goodness(const torch::Tensor& z);

/// One layer's loss: positives' goodness pushed above theta_pos, negatives' below theta_neg,
/// and `penalty` x the positives' mean |goodness| (the authors' lamda).
struct Objective {
  double theta_pos = 1.0;
  double theta_neg = 1.0;
  double penalty = 0.0;
};
/// x standardised beside itself (along dimension 1): the positive pair of a single input,
/// as a pairing layer sees one at readout.
torch::Tensor paired_with_itself(const torch::Tensor& x);

/// mean softplus(theta_pos - g_pos) + mean softplus(g_neg - theta_neg) + penalty x the
/// positives' mean over rows of ||g_pos||_2 over a row's places (|g_pos| for dense layers).
torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, const Objective& objective);

/// A stack of SCFF layers as training sees it, dense (Stack) or convolutional (ConvStack).
/// A layer that reads pairs standardises a pair of inputs together and passes both halves
/// through its one set of weights; layer 0 always reads pairs of images, a higher one either
/// the pairs it is given or what the layer below made of the pairs below.
class Layers {
 public:
  virtual ~Layers();
  virtual std::size_t size() const = 0;
  bool empty() const { return size() == 0; }
  /// The next layer on top, freshly initialised, for training.
  virtual void grow(torch::Device device) = 0;
  virtual std::vector<torch::Tensor> layer_parameters(std::size_t index) = 0;
  /// "2000 units on 784 values" for the log.
  virtual std::string describe(std::size_t index) const = 0;
  /// Layer `index`'s z for inputs x (differentiable).
  virtual torch::Tensor preactivation(std::size_t index, const torch::Tensor& x) = 0;
  /// What layer `index` passes up from its z (activation; pooling for a conv layer).
  virtual torch::Tensor up(std::size_t index, const torch::Tensor& z) const = 0;
  /// Whether layer `index` reads pairs, made afresh from the single stream below.
  virtual bool reads_pairs(std::size_t index) const { return index == 0; }
  /// Rows passed through the layers at a time (0: all at once). A conv layer's activity for
  /// a minibatch is large enough that the allocator would map and unmap it at every call.
  virtual std::int64_t chunk_rows() const { return 0; }
  /// up(preactivation) through layers [from, to) without a graph, x being layer `from`'s
  /// input; a layer above it that reads pairs gets its input paired with itself.
  torch::Tensor through(torch::Tensor x, std::size_t from, std::size_t to);
  torch::Tensor through(torch::Tensor x, std::size_t count) { return through(std::move(x), 0, count); }

  /// scff<i>_weight and scff<i>_bias for every layer.
  virtual std::vector<NamedTensor> state() const = 0;
  /// Appends the layers state() wrote; DataError when they do not fit together.
  virtual void append_from(const std::vector<NamedTensor>& state) = 0;
};

/// Dense layers (the paper's MLP): only the first reads pairs.
class Stack final : public Layers {
 public:
  explicit Stack(Activation activation) : activation_(activation) {}
  /// New layers start from PREFIX_scff<i>_weight.npy and PREFIX_scff<i>_bias.npy.
  void start_from(std::string prefix) { init_prefix_ = std::move(prefix); }
  /// What grow() builds: layers of `widths` on images of `inputs` values.
  void plan(std::int64_t inputs, std::vector<std::int64_t> widths) { inputs_ = inputs, widths_ = std::move(widths); }

  std::size_t size() const override { return layers_.size(); }
  torch::nn::Linear& layer(std::size_t index) { return layers_.at(index); }
  Activation activation() const { return activation_; }
  /// A layer of `width` on `inputs` on top (torch's Linear initialisation, as the authors').
  /// The first layer's `inputs` are one image's: it reads rows of two images.
  void add(std::int64_t inputs, std::int64_t width, torch::Device device);
  void grow(torch::Device device) override;
  std::vector<torch::Tensor> layer_parameters(std::size_t index) override { return layer(index)->parameters(); }
  std::string describe(std::size_t index) const override;

  /// Layer `index`'s z for rows x (differentiable). The first layer's rows are pairs [a, b]
  /// standardised together, and z = W a + W b + 2 bias, computed as W (a + b) + 2 bias.
  torch::Tensor preactivation(std::size_t index, const torch::Tensor& x) override;
  torch::Tensor up(std::size_t /*index*/, const torch::Tensor& z) const override { return activate(z, activation_); }
  /// Each layer's activity standardised, bottom first, for single images x (N, D): the first
  /// layer sees each image paired with itself. What the paper's linear readout reads.
  std::vector<torch::Tensor> features(const torch::Tensor& x);

  std::vector<NamedTensor> state() const override;
  void append_from(const std::vector<NamedTensor>& state) override;
  std::vector<torch::Tensor> parameters();

 private:
  Activation activation_;
  std::string init_prefix_;
  std::int64_t inputs_ = 0;
  std::vector<std::int64_t> widths_;
  std::vector<torch::nn::Linear> layers_;
};

}  // namespace hebbkit::scff
