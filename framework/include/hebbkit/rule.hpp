#pragma once
#include "hebbkit/export.hpp"
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/batch_source.hpp"
#include "hebbkit/state.hpp"

namespace hebbkit {

class RunContext;

/// What a layer is trained on: the preprocessed data passed through the already-trained
/// layers below, detached, as batch sources (held in memory or computed batch by batch;
/// see batch_source.hpp). Labels are there for supervised rules (backprop, supervised
/// Forward-Forward); unsupervised ones ignore them.
struct LayerFit {
  BatchSource& inputs;          ///< the training rows
  BatchSource* val = nullptr;   ///< nullptr when the recipe has no validation split
  std::int64_t num_classes = 0;
  std::int64_t index = 0;       ///< position of this layer in the recipe's `layers`
};

/// What training a layer will take, known from the shape of its inputs alone: lets
/// `hebbkit validate` refuse a layer that cannot fit in memory before anything runs.
struct LayerPlan {
  std::vector<std::int64_t> output_shape;  ///< one output row; empty: unknown (later layers are not planned)
  double bytes = 0;                        ///< at least this much memory while fitting
  std::string key;                         ///< the parameter that sets `bytes`, e.g. "hidden"
  std::string what;                        ///< e.g. "2000 units x 784 inputs"
};

/// A layer's output and the activities of the layers inside it, bottom first.
struct LayerOutput {
  torch::Tensor output;
  std::vector<torch::Tensor> activations;
};

/// A learning rule and the layer it trains. The host trains layers greedily bottom-up,
/// each with its own rule; `forward` must be differentiable in x so that attacks and
/// end-to-end heads can pass gradients through the layer.
///
/// A trained layer is saved as `state()` and reopened by `load_state()` on a freshly
/// constructed instance (same parameters): after it, `forward` must give exactly the
/// outputs of the layer that was saved.
///
/// A rule whose fit is a loop over epochs can continue a stopped run inside the layer:
/// it calls ctx.resume_point() before its first epoch and ctx.epoch_finished() after each
/// (see context.hpp). A rule that does not restarts the layer on `--resume`.
class HEBBKIT_API Rule {
 public:
  virtual ~Rule();
  /// Trains the layer. Long loops call ctx.check_interrupted() and report progress.
  virtual void fit(const LayerFit& data, RunContext& ctx) = 0;
  /// The layer's output for a batch of inputs shaped like LayerFit::inputs' rows.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// forward(x) together with the activity of each layer inside this rule, computed in one
  /// pass (a rule may train a stack, e.g. Forward-Forward). Heads that read per-layer
  /// activity (goodness) use this. Default: one layer whose activity is its output.
  virtual LayerOutput forward_with_activations(const torch::Tensor& x) {
    auto y = forward(x);
    return {y, {y}};
  }
  /// Everything needed to reopen the trained layer, e.g. {{"weights", W}}.
  virtual std::vector<NamedTensor> state() const = 0;
  /// The mirror of state(): restores a trained layer from the tensors state() gave.
  /// Throws DataError naming the tensor when one is missing or has the wrong shape.
  virtual void load_state(const std::vector<NamedTensor>& state) = 0;
  /// The plan for inputs of `input_shape` (one row); nullopt when the rule cannot tell.
  virtual std::optional<LayerPlan> plan(const std::vector<std::int64_t>& /*input_shape*/) const {
    return std::nullopt;
  }
  /// Tensors an optimizer outside the rule may train (end-to-end training through the
  /// stack). Empty for rules whose weights are only changed by their own rule.
  virtual std::vector<torch::Tensor> parameters() { return {}; }
  /// Called by the `plot` stage: write the rule's own figures into ctx.artifacts().
  /// `image_shape` is the dataset's (C, H, W), for rules that draw their weights.
  virtual void figures(RunContext& /*ctx*/, const std::vector<std::int64_t>& /*image_shape*/) {}
  /// Empty when fit() trains the same layer in any number of processes (collective.hpp):
  /// it walks its data through run_epochs or fit_classifier, which shard the minibatches,
  /// and reduces what it sums over a batch. Otherwise why not, e.g. "batch_norm: true
  /// (statistics per process)": `hebbkit run --nproc N` refuses the recipe with it before
  /// anything runs.
  virtual std::string why_not_data_parallel() const { return "it does not declare data-parallel training"; }
};

}  // namespace hebbkit
