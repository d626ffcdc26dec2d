#pragma once
// Small helpers shared by training loops.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace hebbkit {

/// Index batches over n samples, optionally shuffled with torch's (seeded) generator:
///   for (auto& idx : minibatches(n, 100, true, device)) step(x.index_select(0, idx));
std::vector<torch::Tensor> minibatches(std::int64_t n, std::int64_t batch, bool shuffle,
                                       torch::Device device);

/// Throws NumericalError "<what> is nan: training diverged; <advice>" when `value` is
/// NaN or infinite. The default advice suggests the learning rate and preprocessing.
void check_finite(double value, const std::string& what, const std::string& advice = "");

/// Forward-Forward's label overlay: a copy of `x` (N, ...) flattened to (N, D) whose first
/// `num_classes` features are replaced by the one-hot of `labels` scaled by x.max().
torch::Tensor overlay_label(const torch::Tensor& x, const torch::Tensor& labels, std::int64_t num_classes);

/// Fraction of rows of `logits` whose argmax equals `labels`.
double accuracy(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace hebbkit
