#pragma once
// Convolutional layers and what sits between the layers of a stack: where a kernel reads
// (size, stride, dilation, padding), pooling, activations and the parameter-free batch
// norm that Hebbian conv layers put before themselves. Shared by every conv rule, so a
// recipe spells these keys the same way for each.
#include "hebbkit/export.hpp"
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/config.hpp"
#include "hebbkit/state.hpp"

namespace hebbkit {

class Collective;

enum class PaddingMode { Zeros, Reflect };
HEBBKIT_API Choices<PaddingMode> param_choices(PaddingMode);

/// A conv rule's keys for where its kernels read: `kernel`, `stride`, `dilation`, `padding`
/// (an integer, "valid" or "same") and `padding_mode`. Read from a recipe, it fails at
/// `padding` when that is none of those, or "same" with a stride above 1.
struct HEBBKIT_API ConvParams {
  explicit ConvParams(std::int64_t default_kernel = 1, PaddingMode default_padding_mode = PaddingMode::Zeros);
  std::int64_t kernel, stride, dilation;
  std::string padding;
  PaddingMode padding_mode;
};

/// Where a kernel reads: its size, stride, dilation and the padding on each side (zeros, or
/// the image mirrored at its border: reflect, as SoftHebb pads).
struct HEBBKIT_API ConvGeometry {
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  bool reflect = false;

  ConvGeometry() = default;
  /// The geometry the keys give. "same" pads so that the output keeps the input's size (an
  /// even extent pads one more at the bottom and right).
  explicit ConvGeometry(const ConvParams& params);

  /// Output height and width for an h x w input; throws DataError when the kernel does not fit.
  std::array<std::int64_t, 2> output_size(std::int64_t h, std::int64_t w) const;
  /// Values in one patch for `channels` input channels: channels * kernel_h * kernel_w.
  std::int64_t patch_size(std::int64_t channels) const { return channels * kernel_h * kernel_w; }
  /// x (B, C, H, W) with the padding added (x itself when there is none).
  torch::Tensor pad(const torch::Tensor& x) const;
  /// Rows [first, first + count) of the patch matrix of `padded` (pad()'s output, contiguous,
  /// on CPU) into `out` (at least count x patch_size, contiguous, same dtype), in unfold()'s
  /// row and column order; threads split the rows. For updates that walk a batch's patches in
  /// chunks instead of holding them all.
  void gather(const torch::Tensor& padded, std::int64_t first, std::int64_t count, torch::Tensor& out) const;
  /// conv2d of x (B, C, H, W) with kernels (K, C, kh, kw) under this geometry; differentiable.
  torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& kernels) const;
  /// Every patch of x as a row, (B * Ho * Wo, C * kh * kw): rows in (b, ho, wo) order, columns
  /// in the kernels' (c, i, j) order. It holds every patch of the batch at once: for
  /// references, tests and small inputs.
  torch::Tensor unfold(const torch::Tensor& x) const;
  /// "5x5, stride 1, dilation 1, padding 2/2/2/2" for logs.
  std::string describe() const;
};

enum class PoolKind { None, Max, Avg };
HEBBKIT_API Choices<PoolKind> param_choices(PoolKind);

/// Pooling after a layer: none, max or avg over size x size windows. Its keys: `pool`,
/// `pool_size`, `pool_stride` (0: the size) and `pool_padding` (at most half the window).
struct HEBBKIT_API Pool2d {
  explicit Pool2d(PoolKind default_kind = PoolKind::None);
  PoolKind kind;
  std::int64_t size, stride, padding;

  torch::Tensor apply(const torch::Tensor& x) const;
  std::array<std::int64_t, 2> output_size(std::int64_t h, std::int64_t w) const;
};

/// What a layer of a stack does to its pre-activations before handing them up:
/// activation, raised to `power`, then pooled.
///   relu:     max(u, 0)
///   triangle: max(u - mean over channels of u, 0) (SoftHebb's activation; per position)
///   none:     u
enum class Activation { Relu, Triangle, None };
HEBBKIT_API Choices<Activation> param_choices(Activation);

struct HEBBKIT_API LayerActivation {
  /// The keys `activation`, `power` and Pool2d's.
  explicit LayerActivation(Activation default_activation = Activation::Relu, PoolKind default_pool = PoolKind::None);
  Activation activation;
  double power;
  Pool2d pool;

  /// pre (B, K, H, W) -> (B, K, H', W'); differentiable.
  torch::Tensor apply(const torch::Tensor& pre) const;
  /// The shape after apply() of a (K, H, W) row.
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& pre_shape) const;
  /// For a rule's plan(): the output row of `kernels` kernels under `geometry` on (C, H, W)
  /// inputs, then this; a kernel or pooling window that does not fit fails at p's key
  /// `kernel` or `pool_size` (a RecipeError naming the recipe's place).
  std::vector<std::int64_t> conv_output_shape(const ConvGeometry& geometry, std::int64_t kernels,
                                              const std::vector<std::int64_t>& input_shape, const Params& p) const;
  /// apply(geometry.conv(x, kernels)): a conv layer's output. Without a gradient to record it
  /// runs a few images at a time (about 4 MiB of pre-activations each), so that a batch's
  /// pre-activations (221 MB for 1000 images, 96 kernels at 24 x 24) are never materialised:
  /// mapping, zeroing and unmapping them was half of a conv model's evaluation.
  torch::Tensor conv_output(const ConvGeometry& geometry, const torch::Tensor& x, const torch::Tensor& kernels) const;
};

/// Batch normalisation of a layer's inputs per channel without learnt scale or shift
/// (affine = false), as biopytorch and SoftHebb put before a Hebbian conv layer. While the
/// layer trains, train() normalises each batch by its own statistics and keeps running
/// averages (PyTorch's: momentum 0.1, unbiased running variance, eps 1e-5); apply() then
/// uses the running averages.
class HEBBKIT_API ChannelNorm {
 public:
  ChannelNorm() = default;
  ChannelNorm(std::int64_t channels, const torch::TensorOptions& options);
  bool defined() const { return mean_.defined(); }
  torch::Tensor train(const torch::Tensor& x);
  /// train() in a data-parallel run: each process passes its shard of the minibatch, and
  /// the statistics are the whole minibatch's (per-channel sums all-reduced), as one process
  /// would compute them.
  torch::Tensor train(const torch::Tensor& x, Collective& world);
  torch::Tensor apply(const torch::Tensor& x) const;
  /// {prefix + "_mean", prefix + "_var"}.
  std::vector<NamedTensor> state(const std::string& prefix) const;
  /// Reads them back; throws DataError naming the tensor when one is missing or has another size.
  void load_state(const std::vector<NamedTensor>& state, const std::string& prefix, std::int64_t channels);

 private:
  torch::Tensor mean_, var_;
};

}  // namespace hebbkit
