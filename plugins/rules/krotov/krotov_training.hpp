#pragma once
// What the Krotov rules (dense and convolutional) share around their update: the learning
// rate schedule, the epoch loop with its metrics and checkpoints, and the weight grid.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <hebbkit/hebbkit.hpp>

namespace hebbkit::krotov {

/// The learning rate over training.
///   linear:      eps0 (1 - epoch / epochs), fixed within an epoch (the paper's)
///   exponential: eps_end - (eps_end - eps0) exp(-eps_rate t), t in epochs, per batch (biopytorch's)
///   constant:    eps0
enum class ScheduleKind { Linear, Exponential, Constant };
Choices<ScheduleKind> param_choices(ScheduleKind);

struct Schedule {
  /// The keys eps0 (with `default_eps0`), eps_schedule, eps_end and eps_rate.
  explicit Schedule(double default_eps0 = 0.04);
  double eps0;
  ScheduleKind kind;
  double eps_end, rate;
  std::int64_t epochs = 1;  ///< not a key: the rule's epochs, which the linear schedule spans

  double at(std::int64_t epoch, std::int64_t batch, std::int64_t batches_per_epoch) const;
};

/// One Krotov layer as the loop sees it.
struct Learner {
  std::string label;                                               ///< progress label, e.g. "krotov"
  std::function<std::int64_t(const torch::Tensor&, double)> step;  ///< minibatch, eps -> units touched
  std::function<torch::Tensor()> norm_error;                       ///< |sum |W|^p - 1| per unit
  std::function<std::vector<NamedTensor>()> checkpoint;            ///< what resuming needs
  std::string norm_note = "max|sum|W|^p-1|";                       ///< what the progress line calls the max norm error
  /// Data-parallel: step gets each whole minibatch and splits the work itself (EpochLoop::whole_batches).
  bool whole_batches = false;
};

/// `epochs` passes over `source` in minibatches, from `first_epoch` (a resumed layer). After
/// every epoch: metrics convergence (max norm error), convergence_median, settled_fraction
/// (error < 0.05), eps and touched_units_per_step, Ctrl-C, and ctx.epoch_finished.
void train_epochs(BatchSource& source, RunContext& ctx, const Learner& learner, const Schedule& schedule,
                  std::int64_t batch, bool shuffle, std::int64_t first_epoch);

/// The log line after training: max and median norm error, the settled fraction.
void log_convergence(RunContext& ctx, const torch::Tensor& norm_error);

/// A grid of the first `units` of weights (U, C, H, W) into ctx.artifacts()/file: one channel
/// on a blue-white-red map scaled per unit, three as per-unit min-max RGB.
void draw_units(RunContext& ctx, const torch::Tensor& weights, std::int64_t units, const std::string& file);

}  // namespace hebbkit::krotov
