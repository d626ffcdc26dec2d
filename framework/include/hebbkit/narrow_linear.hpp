#pragma once
// The two products of a linear head with few outputs (its classes), for closed-form steps.
// A BLAS GEMM with 10 columns runs far under the machine's speed (for 100 x 2000 x 10 it
// packs both operands and synchronises its threads for 2 MFLOP); these loops read each input
// row once and keep four classes' sums in vector registers.
#include <torch/types.h>

#include "hebbkit/batch_source.hpp"

namespace hebbkit {

/// x (N, F) times w (C, F) transposed, plus bias (C) when it is defined: (N, C), as
/// torch::addmm(bias, x, w.t()) up to float rounding. With `rows` (B int64), only those rows
/// of x, read where they lie: (B, C), as if x.index_select(0, rows) came first. Not
/// differentiable: for steps that write their gradients out (ClassifierTraining::closed_form).
/// Off the CPU, for other dtypes than float, more than 64 outputs or non-contiguous operands
/// it is torch's GEMM. A row number outside x throws DataError.
torch::Tensor narrow_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias = {},
                            const torch::Tensor& rows = {});

/// g (B, C) transposed times x (B, F), or times x's `rows` (B of them): (C, F), the weight
/// gradient of narrow_linear, as torch::mm(g.t(), x) up to float rounding; the same fallback.
torch::Tensor narrow_linear_weight_gradient(const torch::Tensor& g, const torch::Tensor& x,
                                            const torch::Tensor& rows = {});

/// The same on a RowSelection (a closed-form step's inputs).
inline torch::Tensor narrow_linear(const RowSelection& x, const torch::Tensor& w, const torch::Tensor& bias = {}) {
  return narrow_linear(x.source, w, bias, x.index);
}
inline torch::Tensor narrow_linear_weight_gradient(const torch::Tensor& g, const RowSelection& x) {
  return narrow_linear_weight_gradient(g, x.source, x.index);
}

}  // namespace hebbkit
