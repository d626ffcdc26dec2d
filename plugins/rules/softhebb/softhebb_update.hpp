#pragma once
// SoftHebb (Journe et al., ICLR 2023, "Hebbian deep learning without feedback"): soft
// winner-take-all Hebbian plasticity. For kernels W (K x D) and one patch x (D):
//   u = W x;  y = softmax(t u) over the K kernels, negated for every kernel but the winner
//   dW = sum over patches of y (x - u w) = Y^T X - (sum Y * U)[:,None] W
//   W += lr_k dW / max|dW|,  lr_k = lr |‖w_k‖_2 - 1|^power   (the adaptive rate: a kernel
//   slows down as its norm reaches 1)
// A linear layer is the same with 1x1 kernels over inputs shaped (D, 1, 1).
#include <cstdint>

#include <hebbkit/collective.hpp>
#include <hebbkit/spatial.hpp>
#include <torch/types.h>

namespace hebbkit::softhebb {

struct Hyper {
  double t_invert = 1.0;  ///< inverse temperature of the soft winner-take-all
  double lr = 0.08;       ///< base learning rate
  double lr_power = 0.5;  ///< exponent of |‖w‖ - 1| in the adaptive rate
};

/// The kernels of one layer and their update. Like the conv Krotov step it walks the
/// batch's patches in chunks (gathered into a kept buffer on CPU, unfolded per chunk of
/// images elsewhere); unlike it, y is dense, so Y^T X is a product per chunk.
class Kernels {
 public:
  Kernels(torch::Tensor weights, Hyper hyper, ConvGeometry geometry, std::int64_t patch_chunk = 4096);
  /// One update on a minibatch x (B, C, H, W). In a data-parallel run x is this process's
  /// shard: dW is summed over the processes (one all-reduce of K x D) before it is applied.
  void step(const torch::Tensor& x, Collective& world = single_process());
  const torch::Tensor& weights() const { return w_; }
  /// |‖w_k‖_2 - 1| per kernel: the distance from SoftHebb's fixed point.
  torch::Tensor norm_error() const;
  /// The per-kernel rates the next step would use.
  torch::Tensor rates() const;
  void force_tensor_path(bool on) { tensor_path_ = on; }

 private:
  torch::Tensor w_;
  Hyper hyper_;
  ConvGeometry geometry_;
  std::int64_t chunk_;
  torch::Tensor patches_;
  bool tensor_path_ = false;
};

/// y for a chunk of currents U (n x K): softmax(t U) per row, negated except at each row's argmax.
torch::Tensor soft_wta(const torch::Tensor& currents, double t_invert);

/// The SoftHebb paper's own formulation (the authors' demo): the currents by a convolution,
/// Y^T X as the weight gradient of a convolution of the input with y. The reference the
/// chunked step is tested against.
void reference_step(torch::Tensor& weights, const torch::Tensor& x, const Hyper& hyper, const ConvGeometry& geometry);

}  // namespace hebbkit::softhebb
