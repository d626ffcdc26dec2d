#include "krotov_training.hpp"

#include <cmath>

#include <torch/types.h>

namespace hebbkit::krotov {

Choices<ScheduleKind> param_choices(ScheduleKind) {
  return {{ScheduleKind::Linear, "linear"}, {ScheduleKind::Exponential, "exponential"},
          {ScheduleKind::Constant, "constant"}};
}

Schedule::Schedule(double default_eps0)
    : eps0(param("eps0", default_eps0, "initial learning rate").at_least(0)),
      kind(param("eps_schedule", ScheduleKind::Linear,
                 "linear: eps0 (1 - epoch/epochs) per epoch; exponential: eps_end - (eps_end - eps0) exp(-eps_rate t), "
                 "t in epochs, per batch; constant: eps0")),
      eps_end(param("eps_end", 0.0, "the exponential schedule's limit").at_least(0)),
      rate(param("eps_rate", 1.0, "the exponential schedule's decay per epoch").at_least(0)) {}

double Schedule::at(std::int64_t epoch, std::int64_t batch, std::int64_t batches_per_epoch) const {
  if (kind == ScheduleKind::Constant) return eps0;
  if (kind == ScheduleKind::Exponential) {
    const double t = static_cast<double>(epoch) + static_cast<double>(batch) / std::max<std::int64_t>(1, batches_per_epoch);
    return eps_end - (eps_end - eps0) * std::exp(-rate * t);
  }
  return eps0 * (1.0 - static_cast<double>(epoch) / epochs);
}

void train_epochs(BatchSource& source, RunContext& ctx, const Learner& learner, const Schedule& schedule,
                  std::int64_t batch, bool shuffle, std::int64_t first_epoch) {
  const std::int64_t batches = (source.size() + batch - 1) / batch;
  EpochLoop loop{learner.label, schedule.epochs, first_epoch};
  loop.checkpoint = learner.checkpoint;
  loop.source = &source;
  loop.batch = batch;
  loop.shuffle = shuffle;
  loop.whole_batches = learner.whole_batches;
  Meter touched;  // this epoch's, reset after it
  std::int64_t steps = 0;
  double eps = 0;
  loop.batch_step = [&](std::int64_t epoch, const Batch& b) {
    eps = schedule.at(epoch, steps, batches);
    touched.add(static_cast<double>(learner.step(b.inputs, eps)));
    ++steps;
  };
  loop.epoch_step = [&](std::int64_t epoch, Progress&) {
    if (steps == 0) eps = schedule.at(epoch, 0, batches);
    // Units that never win keep their initial norm, so the max alone can look stuck;
    // the median and the settled fraction show the bulk converging.
    const auto error = learner.norm_error();
    const double convergence = error.max().item<double>();
    ctx.metric("convergence", convergence, epoch);
    ctx.metric("convergence_median", error.median().item<double>(), epoch);
    ctx.metric("settled_fraction", error.lt(0.05).to(torch::kFloat64).mean().item<double>(), epoch);
    ctx.metric("eps", eps, epoch);
    ctx.metric("touched_units_per_step", touched.mean(), epoch);
    touched = Meter();
    steps = 0;
    return EpochResult{learner.norm_note, convergence, learner.label + " synapse norm"};
  };
  run_epochs(loop, ctx);
}

void log_convergence(RunContext& ctx, const torch::Tensor& error) {
  ctx.info("|sum |W|^p - 1| over units: max {:.4g}, median {:.4g}; {:.1f}% of units within 0.05 of 1",
           error.max().item<double>(), error.median().item<double>(),
           100 * error.lt(0.05).to(torch::kFloat64).mean().item<double>());
}

void draw_units(RunContext& ctx, const torch::Tensor& weights, std::int64_t units, const std::string& file) {
  const auto chosen = weights.detach().to(torch::kCPU).slice(0, 0, std::min(units, weights.size(0)));
  units = chosen.size(0);
  torch::Tensor images;
  if (chosen.size(1) == 1) {
    // Signed weights on a blue-white-red map, each unit scaled by its own max |w|.
    const auto scaled = chosen / chosen.abs().amax({1, 2, 3}, true).clamp_min(1e-12);
    const auto pos = scaled.clamp_min(0), neg = (-scaled).clamp_min(0);
    images = torch::cat({1 - neg, 1 - pos - neg, 1 - pos}, 1);
  } else {
    // Per-unit min-max normalised RGB.
    const auto lo = chosen.amin({1, 2, 3}, true), hi = chosen.amax({1, 2, 3}, true);
    images = (chosen - lo) / (hi - lo).clamp_min(1e-12);
  }
  const auto columns = static_cast<std::int64_t>(std::ceil(std::sqrt(double(units))));
  const auto path = ctx.artifacts() / file;
  io::save_png(path, io::tile_images(images, columns, 1, 0.0));
  ctx.info("weight grid of {} units: {}", units, path.string());
}

}  // namespace hebbkit::krotov
