#pragma once
// How an SCFF stack is trained: greedily, each layer for its own epochs with its own AdamW
// and objective while the layers below stay frozen; every minibatch makes fresh pairs of
// the images and passes them through the frozen layers. The learning rate decays every
// `decay_every` minibatches (the authors' ExponentialLR stepped each `period` batches).
#include <cstdint>
#include <optional>
#include <vector>

#include <hebbkit/collective.hpp>
#include <hebbkit/context.hpp>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "scff_layer.hpp"
#include "scff_pairs.hpp"

namespace hebbkit::scff {

/// One layer's training.
struct LayerTraining {
  std::int64_t width = 2000;
  std::int64_t epochs = 1;
  double lr = 1e-3;
  double lr_decay = 1.0;
  std::int64_t decay_every = 1000;  ///< minibatches
  double weight_decay = 0.0;        ///< AdamW's, decoupled
  Objective objective;

  /// The rate of minibatch `step` (from 0, counted over the layer's epochs):
  /// lr x lr_decay^floor((step + 1) / decay_every), as the authors step their scheduler
  /// after every batch whose count + 1 is a multiple of the period.
  double lr_at(std::int64_t step) const;
};

struct StepResult {
  double loss = 0;
  double goodness_pos = 0;  ///< summed over the batch's positives
  double goodness_neg = 0;
};
/// One AdamW step of layer `index` on a batch of positives and negatives as the layer below
/// gave them (for the first layer: pairs).
/// In a data-parallel run `positive` and `negative` are this process's rows of a global
/// minibatch of `global_rows` pairs: the gradient and the result are the global minibatch's
/// (all-reduced). 0: the minibatch is all here.
StepResult train_step(Stack& stack, std::size_t index, torch::optim::Optimizer& optimizer, const torch::Tensor& positive,
                      const torch::Tensor& negative, const Objective& objective, Collective& world = single_process(),
                      std::int64_t global_rows = 0);

/// Greedy training of `layers` on `images` (N, C, H, W) in minibatches of `batch` (a last
/// batch of one image is skipped: it makes no negative). Checkpoints count epochs over the
/// whole stack; `resume` continues one.
void train_greedy(Stack& stack, const std::vector<LayerTraining>& layers, const torch::Tensor& images,
                  std::int64_t batch, const Views& views, RunContext& ctx,
                  const std::optional<TrainingCheckpoint>& resume);

}  // namespace hebbkit::scff
