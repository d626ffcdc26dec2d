#pragma once
// Forward-Forward's label overlays: a label written over an image's first features. Apart
// from goodness.hpp (which includes it) so that code that only overlays labels (the negatives)
// does not see the Rule interface.
#include <cstdint>

#include <torch/types.h>

namespace hebbkit {

/// Forward-Forward's label overlay: a copy of `x` (N, ...) flattened to (N, D) whose first
/// `num_classes` features are replaced by the one-hot of `labels` scaled by x.max().
torch::Tensor overlay_label(const torch::Tensor& x, const torch::Tensor& labels, std::int64_t num_classes);

/// The neutral overlay: the same copy with every one of the first `num_classes` features set
/// to x.max() / num_classes (no label preferred), what a classifier on the stack's
/// activities sees when the label is not known.
torch::Tensor overlay_neutral_label(const torch::Tensor& x, std::int64_t num_classes);

}  // namespace hebbkit
