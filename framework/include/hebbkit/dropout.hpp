#pragma once
// Inverted dropout for CPU training loops. torch::dropout draws its CPU mask with a serial
// Mersenne twister, one generator call per element: on a classifier over 13,824 conv
// features at batch 64 that draw was over half of the epoch, the second core spinning
// meanwhile. Here each element's coin is a hash of (one key drawn from torch's seeded
// generator per call, the element's index): parallel, reproducible under the run's seed, and
// the same whatever the thread count (and, in a data-parallel run, the number of processes).
#include <cstdint>

#include <torch/types.h>

#include "hebbkit/export.hpp"

namespace hebbkit {

/// x with each element zeroed with probability p and the rest divided by 1 - p, as
/// torch::dropout(x, p, train); x itself when !train or p = 0, zeros when p = 1. Gradients
/// flow through the kept elements (times 1 / (1 - p)). Tensors off the CPU and other
/// dtypes than float and double use torch::dropout. p outside [0, 1] throws
/// std::invalid_argument.
torch::Tensor dropout(const torch::Tensor& x, double p, bool train);

/// In a data-parallel run a process holds the rows of a global minibatch from `first_row`
/// on: while a DropoutRows lives, dropout() gives x's rows the coins of those global rows,
/// so that the masks are the ones one process would draw, whatever the number of processes.
/// fit_classifier and run_epochs hold one around each step; plugins need not.
class HEBBKIT_API DropoutRows {
 public:
  explicit DropoutRows(std::int64_t first_row);
  ~DropoutRows();
  DropoutRows(const DropoutRows&) = delete;
  DropoutRows& operator=(const DropoutRows&) = delete;

 private:
  std::int64_t previous_;
};

}  // namespace hebbkit
