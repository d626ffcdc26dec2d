#pragma once
#include "hebbkit/export.hpp"
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/encoder.hpp"
#include "hebbkit/rule.hpp"

namespace hebbkit {

class RunContext;

/// What a head is trained on. `features` are the top layer's outputs, computed once by
/// the host (heads train on frozen features). Heads that need the whole stack, such as
/// Forward-Forward's goodness head, use `images` and `encoder` instead.
struct HeadFit {
  torch::Tensor features;       ///< (N, F) detached
  torch::Tensor labels;         ///< (N) int64
  torch::Tensor val_features;   ///< undefined without a validation split
  torch::Tensor val_labels;
  torch::Tensor images;         ///< raw training images (N, C, H, W)
  torch::Tensor val_images;
  Encoder& encoder;
  std::int64_t num_classes = 0;
  /// The features of the training images mirrored left-right, row for row, when the head
  /// asked for them (wants_mirrored_features()); for ClassifierTraining::mirrored.
  torch::Tensor mirrored_features;
};

/// A classifier head on top of the layers. Saved and reopened like a Rule: state() on the
/// trained head, load_state() on a fresh one gives exactly the same logits.
class HEBBKIT_API Head {
 public:
  virtual ~Head();
  virtual void fit(const HeadFit& data, RunContext& ctx) = 0;
  /// Class logits (N, num_classes) for raw images, differentiable in `images`.
  virtual torch::Tensor logits(const torch::Tensor& images, Encoder& encoder) = 0;
  /// Everything needed to reopen the trained head.
  virtual std::vector<NamedTensor> state() const = 0;
  /// The mirror of state().
  virtual void load_state(const std::vector<NamedTensor>& state) = 0;
  /// Tensors an optimizer outside the head may train; empty by default.
  virtual std::vector<torch::Tensor> parameters() { return {}; }
  /// The head's training loss per example (B) for its logits; attacks with `loss: model`
  /// climb it. Default: cross-entropy.
  virtual torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels);
  /// Empty when fit() trains the same head in any number of processes (it trains through
  /// fit_classifier, or learns nothing from the data); otherwise why not. See
  /// Rule::why_not_data_parallel().
  virtual std::string why_not_data_parallel() const { return "it does not declare data-parallel training"; }
  /// True when fit() wants HeadFit::mirrored_features: the host passes the mirrored training
  /// images through the layers once more (a classifier trained with random flips).
  virtual bool wants_mirrored_features() const { return false; }
};

/// Base for the common case: a head that only looks at the top layer's features.
class HEBBKIT_API FeatureHead : public Head {
 public:
  torch::Tensor logits(const torch::Tensor& images, Encoder& encoder) final {
    return logits_from_features(encoder.forward(images));
  }
  /// Class logits for features shaped like HeadFit::features.
  virtual torch::Tensor logits_from_features(const torch::Tensor& features) = 0;
};

}  // namespace hebbkit
