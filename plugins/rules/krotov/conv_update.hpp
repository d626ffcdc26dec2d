#pragma once
// The Krotov-Hopfield update for a convolutional layer: the kernels are the hidden units
// and every image patch is an input (biopytorch's BioConv2d). For kernels W (K x D, D = C kh kw)
// and the patches V of a minibatch (D x P):
//   I  = (sign(W) * |W|^(p-1)) V           currents of every kernel at every patch
//   g  = 1 for each patch's strongest kernel, -delta for its k-th, else 0
//   xx = sum_P g I;  ds = g V^T - xx[:,None] * W
//   W += eps * ds / max(max|ds|, prec)     max over all (global) or per kernel
#include <cstdint>

#include <hebbkit/collective.hpp>
#include <hebbkit/config.hpp>
#include <hebbkit/spatial.hpp>
#include <torch/types.h>

#include "krotov_update.hpp"

namespace hebbkit::krotov {

enum class Normalise { Global, PerKernel };
inline Choices<Normalise> param_choices(Normalise) {
  return {{Normalise::PerKernel, "kernel"}, {Normalise::Global, "global"}};
}

/// The kernels of one conv layer and their update. step() never holds every patch of the
/// batch: it walks the patches in chunks of `patch_chunk`, gathering a chunk's patches
/// into a kept buffer, computing their currents (one GEMM), ranking the kernels and adding
/// each patch to its winner's and k-th kernel's row of ds (g has two non-zeros per patch,
/// so g V^T is a scatter, not a product). Memory: patch_chunk x (D + K), whatever the batch.
class ConvSynapses {
 public:
  ConvSynapses(torch::Tensor kernels, Hyper hyper, Normalise normalise, ConvGeometry geometry,
               std::int64_t patch_chunk = 4096);
  /// One update on a minibatch x (B, C, H, W). Returns the number of kernels touched.
  /// Data-parallel: x is this process's shard of the minibatch; ds, xx and the kernels
  /// touched are summed over the processes (one all-reduce) before the step.
  std::int64_t step(const torch::Tensor& x, double eps, Collective& world = single_process());
  /// (K, C, kh, kw)
  const torch::Tensor& kernels() const { return w_; }
  /// sign(W) |W|^(p-1): the kernels the currents are computed with.
  torch::Tensor powered_kernels() const { return powered(w_, hyper_.p); }
  /// |sum |W|^p - 1| per kernel.
  torch::Tensor norm_error() const;
  /// Dale's law per input channel: kernels' weights on channels of sign +1 stay >= 0, on -1 <= 0.
  void constrain_signs(const torch::Tensor& channel_signs);
  /// Tests: take the tensor path (unfold per chunk of samples, index_add) that non-CPU
  /// devices take, instead of the fused CPU loops.
  void force_tensor_path(bool on) { tensor_path_ = on; }

 private:
  // Both add the batch's patches to ds and xx and mark the kernels they touch in `touched`.
  void step_cpu(const torch::Tensor& xp, std::int64_t ho, std::int64_t wo, const torch::Tensor& wp, torch::Tensor& ds,
                torch::Tensor& xx, torch::Tensor& touched);
  void step_tensors(const torch::Tensor& x, const torch::Tensor& wp, torch::Tensor& ds, torch::Tensor& xx,
                    torch::Tensor& touched);

  torch::Tensor w_;
  Hyper hyper_;
  Normalise normalise_;
  ConvGeometry geometry_;
  std::int64_t chunk_;
  torch::Tensor patches_;  ///< the CPU path's chunk of gathered patches, kept between steps
  bool tensor_path_ = false;
};

/// The formulas above, literally: every patch of the batch unfolded at once, currents of
/// every kernel, a full stable sort per patch and a dense g. The reference the fast step is
/// tested against, and the unfold-based implementation the benchmark compares with.
void conv_reference_step(torch::Tensor& kernels, const torch::Tensor& x, const Hyper& hyper, Normalise normalise,
                         const ConvGeometry& geometry, double eps);

}  // namespace hebbkit::krotov
