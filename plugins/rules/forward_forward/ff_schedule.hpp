#pragma once
// How a Forward-Forward stack is trained: greedily (each layer for its epochs, then the
// next), with growth (greedy layers added while validation accuracy improves), or
// simultaneously (every minibatch trains every layer on the detached output of the one
// below). Each runs the SDK's epoch loop and checkpoints inside it.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <hebbkit/context.hpp>
#include <hebbkit/optimizer.hpp>
#include <torch/types.h>

#include "ff_negatives.hpp"
#include "ff_objective.hpp"
#include "ff_stack.hpp"

namespace hebbkit::ff {

/// What every schedule trains with.
struct Training {
  std::int64_t epochs = 60;  ///< per layer (greedy), or of the whole stack (simultaneous)
  std::int64_t batch = 0;    ///< 0: the whole training set at once
  OptimizerParams optimizer;
  bool lr_cooldown = false;  ///< the public reimplementation's: lr linearly to 0 over the second half
  LayerObjective objective;  ///< input_scale is each layer's (Stack::input_scale)

  /// The optimizer's rate for `epoch`, with the cooldown when set.
  double lr_at(std::int64_t epoch) const;
  /// `objective` with layer `index`'s input scale.
  LayerObjective objective_for(const Stack& stack, std::size_t index) const;
};

/// Greedy training, layer after layer. A checkpoint holds the layers trained so far, the
/// last part-way, and its optimizer; its epochs count over the stack (`epochs` per layer).
class Greedy {
 public:
  /// `resume`: the checkpoint to continue from (its layers are restored into `stack`).
  Greedy(Stack& stack, const Training& training, const Negatives& negatives, RunContext& ctx,
         const std::optional<TrainingCheckpoint>& resume);
  /// Adds a layer of `width` on top (or continues the one the checkpoint restored), trains it
  /// on `positive` (the outputs of the layers below for positive data) and returns its own
  /// outputs. `checkpointed`: false for layers growth may remove (its decisions are not saved).
  torch::Tensor add_and_train(const torch::Tensor& positive, std::int64_t width, bool checkpointed);

 private:
  struct Continue {
    std::size_t layer = 0;
    std::int64_t epochs = 0;
    torch::Tensor optimizer;
  };
  Stack& stack_;
  const Training& training_;
  const Negatives& negatives_;
  RunContext& ctx_;
  std::optional<Continue> resume_;
  std::size_t next_layer_ = 0;
};

/// Growth after the greedy layers: layers of `width` are added and trained while each raises
/// `val_accuracy()` by more than `margin`, up to `max_layers`; the first that does not is
/// removed. `positive` is the top layer's output for positive data.
void grow(Greedy& greedy, Stack& stack, torch::Tensor positive, std::int64_t width, std::int64_t max_layers,
          double margin, const std::function<double()>& val_accuracy, RunContext& ctx);

/// Simultaneous training of layers of `sizes` on `positive`; `after_epoch(epoch)` logs what
/// the rule measures between epochs (validation). Continues `resume` when given.
void train_simultaneous(Stack& stack, const std::vector<std::int64_t>& sizes, const torch::Tensor& positive,
                        const Training& training, const Negatives& negatives, RunContext& ctx,
                        const std::optional<TrainingCheckpoint>& resume,
                        const std::function<void(std::int64_t epoch)>& after_epoch);

}  // namespace hebbkit::ff
