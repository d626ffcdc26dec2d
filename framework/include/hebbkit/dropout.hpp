#pragma once
// Inverted dropout for CPU training loops. torch::dropout draws its CPU mask with a serial
// Mersenne twister, one generator call per element: on a classifier over 13,824 conv
// features at batch 64 that draw was over half of the epoch, the second core spinning
// meanwhile. Here each element's coin is a hash of (one key drawn from torch's seeded
// generator per call, the element's index): parallel, reproducible under the run's seed, and
// the same whatever the thread count.
#include <torch/types.h>

namespace hebbkit {

/// x with each element zeroed with probability p and the rest divided by 1 - p, as
/// torch::dropout(x, p, train); x itself when !train or p = 0, zeros when p = 1. Gradients
/// flow through the kept elements (times 1 / (1 - p)). Tensors off the CPU and other
/// dtypes than float and double use torch::dropout. p outside [0, 1] throws
/// std::invalid_argument.
torch::Tensor dropout(const torch::Tensor& x, double p, bool train);

}  // namespace hebbkit
