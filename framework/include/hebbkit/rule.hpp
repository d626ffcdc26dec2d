#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace hebbkit {

class RunContext;

/// A named tensor a plugin exposes for saving (weights.npy) and inspection.
using NamedTensor = std::pair<std::string, torch::Tensor>;

/// What a layer is trained on. The host computes `inputs` once: the preprocessed data
/// passed through the already-trained layers below, detached. Labels are there for
/// supervised rules (backprop, supervised Forward-Forward); unsupervised ones ignore them.
struct LayerFit {
  torch::Tensor inputs;        ///< (N, ...) float, on the run's device
  torch::Tensor labels;        ///< (N) int64
  torch::Tensor val_inputs;    ///< undefined when the recipe has no validation split
  torch::Tensor val_labels;
  std::int64_t num_classes = 0;
  std::int64_t index = 0;      ///< position of this layer in the recipe's `layers`
};

/// A learning rule and the layer it trains. The host trains layers greedily bottom-up,
/// each with its own rule; `forward` must be differentiable in x so that attacks and
/// end-to-end heads can pass gradients through the layer.
class Rule {
 public:
  virtual ~Rule();
  /// Trains the layer. Long loops call ctx.check_interrupted() and report progress.
  virtual void fit(const LayerFit& data, RunContext& ctx) = 0;
  /// The layer's output for a batch of inputs shaped like LayerFit::inputs.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// The activities of each layer inside this rule for x, bottom first (a rule may train a
  /// stack, e.g. Forward-Forward). Heads that read per-layer activity (goodness) use this.
  virtual std::vector<torch::Tensor> activations(const torch::Tensor& x) { return {forward(x)}; }
  /// Tensors saved by the `save` stage as <layer>_<name>.npy.
  virtual std::vector<NamedTensor> state() const { return {}; }
  /// Called by the `plot` stage: write the rule's own figures into ctx.artifacts().
  /// `image_shape` is the dataset's (C, H, W), for rules that draw their weights.
  virtual void figures(RunContext& /*ctx*/, const std::vector<std::int64_t>& /*image_shape*/) {}
};

}  // namespace hebbkit
