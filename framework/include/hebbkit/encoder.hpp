#pragma once
#include "hebbkit/export.hpp"
#include <cstddef>
#include <vector>

#include <torch/types.h>

namespace hebbkit {

class Rule;

/// The trained stack below the head: the recipe's preprocessing followed by every layer.
/// All functions are differentiable in x.
class HEBBKIT_API Encoder {
 public:
  virtual ~Encoder();
  /// Preprocessing only (e.g. flatten, center, unit norm): raw images -> layer 0 input.
  virtual torch::Tensor prepare(const torch::Tensor& images) = 0;
  /// Every layer applied to already-prepared inputs.
  virtual torch::Tensor forward_prepared(const torch::Tensor& x) = 0;
  /// prepare() then forward_prepared().
  torch::Tensor forward(const torch::Tensor& images) { return forward_prepared(prepare(images)); }
  /// The activity of every layer inside every rule, bottom first, for prepared inputs, in
  /// one pass through the stack (Rule::forward_with_activations).
  std::vector<torch::Tensor> activations_prepared(const torch::Tensor& x);
  virtual std::size_t layer_count() const = 0;
  virtual Rule& layer(std::size_t index) = 0;
};

/// Raw images in [0, 1] -> class logits, end to end; what evaluation and attacks use.
class HEBBKIT_API Classifier {
 public:
  virtual ~Classifier();
  virtual torch::Tensor logits(const torch::Tensor& images) = 0;
  /// The loss the classifier was trained with, per example (B), for attacks that use the
  /// model's own loss. Default: cross-entropy on the logits.
  virtual torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels);
};

}  // namespace hebbkit
