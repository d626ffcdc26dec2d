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
#include <hebbkit/params.hpp>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "scff_layer.hpp"
#include "scff_pairs.hpp"

namespace hebbkit::scff {

/// One layer's training.
struct LayerTraining {
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

/// The defaults of an SCFF rule's training keys (the authors' configuration for its data).
struct TrainingDefaults {
  std::vector<std::int64_t> epochs;
  std::int64_t batch = 100;
  std::vector<double> lr, lr_decay;
  std::vector<std::int64_t> decay_every;
  std::vector<double> weight_decay, theta_pos, theta_neg, penalty;
};

/// The training keys of an SCFF rule, each one value for every layer or one per layer:
/// epochs, batch, lr, lr_decay, decay_every, weight_decay, theta_pos, theta_neg, penalty.
struct TrainingKeys {
  explicit TrainingKeys(const TrainingDefaults& defaults);
  std::vector<std::int64_t> epochs;
  std::int64_t batch;
  std::vector<double> lr, lr_decay;
  std::vector<std::int64_t> decay_every;
  std::vector<double> weight_decay, theta_pos, theta_neg, penalty;

  /// Each of `layers` layers' training; fails on `p` at a key whose list is neither one
  /// value nor one per layer, or at an lr_decay outside (0, 1].
  std::vector<LayerTraining> per_layer(std::size_t layers, const Params& p) const;
};

struct StepResult {
  double loss = 0;
  double goodness_pos = 0;  ///< each positive's mean goodness (over places), summed over the batch
  double goodness_neg = 0;
};
/// One AdamW step of layer `index` on a batch of positives and negatives as the layer below
/// gave them (for the first layer: pairs).
/// In a data-parallel run `positive` and `negative` are this process's rows of a global
/// minibatch of `global_rows` pairs: the gradient and the result are the global minibatch's
/// (all-reduced). 0: the minibatch is all here.
StepResult train_step(Layers& stack, std::size_t index, torch::optim::Optimizer& optimizer, const torch::Tensor& positive,
                      const torch::Tensor& negative, const Objective& objective, Collective& world = single_process(),
                      std::int64_t global_rows = 0);

/// The positives and negatives layer `index` trains on, rows [mine.begin, mine.end) of a
/// global minibatch whose pairs of images are `images`: the pairs through the frozen layers
/// below, or, from the highest of those layers that reads pairs, pairs made afresh of the
/// positives' stream below it (a new offset drawn). Those need the whole minibatch's stream
/// on every process, since a negative pairs rows of other processes' shares.
Pairs layer_inputs(Layers& stack, std::size_t index, const Pairs& images, ShardRange mine);

/// Greedy training of `layers` (stack.grow() makes each) on `images` (N, C, H, W) in
/// minibatches of `batch` (a last batch of one image is skipped: it makes no negative).
/// Checkpoints count epochs over the whole stack; `resume` continues one.
void train_greedy(Layers& stack, const std::vector<LayerTraining>& layers, const torch::Tensor& images,
                  std::int64_t batch, const Views& views, RunContext& ctx,
                  const std::optional<TrainingCheckpoint>& resume);

}  // namespace hebbkit::scff
