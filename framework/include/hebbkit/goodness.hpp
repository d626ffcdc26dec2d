#pragma once
// Forward-Forward's goodness scoring, for the plugins that opt in (the forward_forward rule
// and the ff_goodness head): the label overlays, each label's goodness through a stack, and
// OverlaidLayer, which a layer implements beside Rule when it can give every label's
// activities for less than a pass per label. Rule itself knows nothing of goodness.
#include "hebbkit/export.hpp"
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "hebbkit/label_overlay.hpp"
#include "hebbkit/rule.hpp"

namespace hebbkit {

/// One label's pass through a layer: its output and activities, and each activity's row
/// sums of squares when the layer has them anyway (scoring then skips a pass); empty, or
/// one per activation.
struct OverlaidOutput {
  LayerOutput layer;
  std::vector<torch::Tensor> squared_norms;
};

/// A layer whose first product is linear in x: the product of x is computed once and each
/// label's overlay added to it, instead of num_classes passes.
class HEBBKIT_API OverlaidLayer {
 public:
  virtual ~OverlaidLayer();
  /// The layer's output and activities with each label c = 0 .. num_classes-1 written over
  /// x (overlay_label), handed to `each(c, output)` in label order; differentiable in x.
  virtual void forward_overlaid(const torch::Tensor& x, std::int64_t num_classes,
                                const std::function<void(std::int64_t, OverlaidOutput)>& each) = 0;
};

/// Forward-Forward's prediction scores: for every candidate label c, the goodness (mean
/// squared activity) summed over the layers that `activations` returns for x with c
/// overlaid, leaving out the first `skip` layers. (N, num_classes); differentiable in x.
torch::Tensor goodness_scores(const std::function<std::vector<torch::Tensor>(const torch::Tensor&)>& activations,
                              const torch::Tensor& x, std::int64_t num_classes, std::size_t skip = 0);

/// The same scores through a stack of layers (an encoder's, bottom first) on their prepared
/// input: a bottom layer that is an OverlaidLayer gives every label's activities at once;
/// otherwise, and for the layers above, each label is a pass (forward_with_activations).
torch::Tensor goodness_scores(const std::vector<Rule*>& stack, const torch::Tensor& x, std::int64_t num_classes,
                              std::size_t skip = 0);

}  // namespace hebbkit
