#pragma once
// SCFF's convolutional layers as the authors' CIFAR-10 and STL-10 code builds them
// (ContrastFF_CIFAR.py, class Conv2d): each pads its input (reflect), standardises every
// sample over all its values, and convolves; a layer that reads pairs takes the two halves
// of its input's channels through one set of kernels and adds them. Goodness is the mean of
// relu(z)^2 over channels at every place, so the loss averages over places as well.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "scff_layer.hpp"

namespace hebbkit::scff {

enum class PoolKind { None, Max, Avg };

/// Pooling as torch's MaxPool2d / AvgPool2d with ceil_mode (the authors'); none passes x on.
struct Pooling {
  PoolKind kind = PoolKind::None;
  std::int64_t size = 2, stride = 2, padding = 0;
  torch::Tensor apply(const torch::Tensor& x) const;
};

struct ConvLayerSpec {
  std::int64_t channels = 96;  ///< kernels
  std::int64_t kernel = 5;
  std::int64_t padding = 0;
  bool reflect = true;      ///< the padding mirrors the input (else zeros)
  Activation activation = Activation::Triangle;
  Pooling pool;             ///< after the activation
  bool pairs = false;       ///< reads pairs made afresh from the stream below (layer 0 always does)
};

class ConvStack final : public Layers {
 public:
  /// Layers `specs` on images of `image_channels`; `readout_pool` pools each layer's output
  /// for features() (the authors' extra_pool, average).
  ConvStack(std::vector<ConvLayerSpec> specs, std::int64_t image_channels, Pooling readout_pool);
  /// New layers start from PREFIX_scff<i>_weight.npy and PREFIX_scff<i>_bias.npy.
  void start_from(std::string prefix) { init_prefix_ = std::move(prefix); }

  std::size_t size() const override { return weights_.size(); }
  /// Kernels of layer `index` (K, C, k, k).
  const torch::Tensor& kernels(std::size_t index) const { return weights_.at(index); }
  /// A layer with torch's Conv2d bias and Xavier-uniform kernels (the authors' init).
  void grow(torch::Device device) override;
  std::vector<torch::Tensor> layer_parameters(std::size_t index) override;
  std::string describe(std::size_t index) const override;
  torch::Tensor preactivation(std::size_t index, const torch::Tensor& x) override;
  torch::Tensor up(std::size_t index, const torch::Tensor& z) const override;
  bool reads_pairs(std::size_t index) const override { return index == 0 || specs_.at(index).pairs; }
  std::int64_t chunk_rows() const override { return 32; }

  /// What the paper's linear readout reads of images x (N, C, H, W): every layer's output
  /// pooled by readout_pool and standardised per sample, flattened, bottom first; layers that
  /// read pairs see their input paired with itself.
  std::vector<torch::Tensor> features(const torch::Tensor& x);
  /// The (C, H, W) each layer passes up, for images of `image_shape`; RecipeError when a
  /// kernel or pooling window does not fit.
  std::vector<std::vector<std::int64_t>> output_shapes(const std::vector<std::int64_t>& image_shape) const;
  /// The (C, H, W) of each layer's readout for images of `image_shape`.
  std::vector<std::vector<std::int64_t>> feature_shapes(const std::vector<std::int64_t>& image_shape) const;

  std::vector<NamedTensor> state() const override;
  void append_from(const std::vector<NamedTensor>& state) override;
  std::vector<torch::Tensor> parameters();

 private:
  std::int64_t inputs_of(std::size_t index) const;

  std::vector<ConvLayerSpec> specs_;
  std::int64_t image_channels_;
  Pooling readout_pool_;
  std::string init_prefix_;
  std::vector<torch::Tensor> weights_, biases_;
};

}  // namespace hebbkit::scff
