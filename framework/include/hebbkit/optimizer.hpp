#pragma once
// The optimizer keys every plugin that trains with a torch optimizer shares: which optimizer,
// its learning rate and schedule, momentum and weight decay. One group, so that a recipe
// spells them the same way for the softmax head, the backprop rule and Forward-Forward;
// each plugin states its own defaults. make_optimizer (training.hpp) builds the optimizer.
//
//   struct Config {
//     hebbkit::OptimizerParams optimizer{hebbkit::OptimizerDefaults().lr(0.03).momentum(0.9)};
//   };
#include <cstdint>
#include <vector>

#include "hebbkit/config.hpp"
#include "hebbkit/export.hpp"

namespace hebbkit {

enum class OptimizerKind { Adam, AdamW, Sgd };
HEBBKIT_API Choices<OptimizerKind> param_choices(OptimizerKind);

/// A plugin's defaults for the group's keys; the others default to no decay, no weight
/// decay and no restarts.
class OptimizerDefaults {
 public:
  OptimizerDefaults& optimizer(OptimizerKind kind) { optimizer_ = kind; return *this; }
  OptimizerDefaults& lr(double lr) { lr_ = lr; return *this; }
  OptimizerDefaults& momentum(double momentum) { momentum_ = momentum; return *this; }
  OptimizerDefaults& lr_decay(double decay) { lr_decay_ = decay; return *this; }

 private:
  friend struct OptimizerParams;
  OptimizerKind optimizer_ = OptimizerKind::Adam;
  double lr_ = 1e-3, momentum_ = 0.0, lr_decay_ = 1.0;
};

/// The keys optimizer, lr, momentum, weight_decay, lr_decay, lr_step, lr_milestones,
/// restart_epochs and restart_mult. Read from a recipe, it fails at the key when they do not combine: momentum
/// given to Adam, lr_decay or lr_step given with the cosine schedule, restart_mult without it.
struct HEBBKIT_API OptimizerParams {
  /// The group with OptimizerDefaults' defaults (implicit, so that a Config holding the group
  /// without an initializer stays an aggregate that `Config{}` builds).
  OptimizerParams() : OptimizerParams(OptimizerDefaults()) {}
  explicit OptimizerParams(const OptimizerDefaults& defaults);

  OptimizerKind optimizer;
  double lr;
  double momentum;      ///< SGD's
  double weight_decay;  ///< L2 penalty
  double lr_decay;      ///< lr is multiplied by this after every lr_step epochs
  std::int64_t lr_step;
  /// Non-empty: lr is multiplied by lr_decay at each of these epochs instead (MultiStepLR).
  std::vector<std::int64_t> lr_milestones;
  /// > 0: cosine annealing with warm restarts (Loshchilov & Hutter's SGDR, as PyTorch's
  /// CosineAnnealingWarmRestarts stepped once per epoch): the first cycle lasts this many
  /// epochs, each next one restart_mult times longer; lr_decay and lr_step are then unused.
  std::int64_t restart_epochs;
  std::int64_t restart_mult;

  /// The learning rate of epoch `epoch` (from 0) under this schedule.
  double lr_at(std::int64_t epoch) const;
};

}  // namespace hebbkit
