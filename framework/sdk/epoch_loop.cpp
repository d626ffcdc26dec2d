#include "hebbkit/epoch_loop.hpp"

#include <fmt/format.h>
#include <torch/optim/optimizer.h>

#include "hebbkit/context.hpp"
#include "hebbkit/progress.hpp"
#include "hebbkit/training.hpp"

namespace hebbkit {

void run_epochs(const EpochLoop& loop, RunContext& ctx) {
  auto progress = ctx.progress(loop.label, loop.epochs, "epoch");
  // A resumed run's bar starts where the run stopped.
  if (loop.first_epoch > 0) progress->advance(std::min(loop.first_epoch, loop.epochs));
  for (std::int64_t epoch = loop.first_epoch; epoch < loop.epochs; ++epoch) {
    if (loop.lr_at) {
      const double lr = loop.lr_at(epoch);
      for (auto* optimizer : loop.optimizers)
        for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    }
    if (loop.source != nullptr)
      loop.source->for_each_batch(loop.batch, loop.shuffle, [&](const Batch& b) {
        loop.batch_step(epoch, b);
        ctx.check_interrupted();
      });
    const EpochResult result = loop.epoch_step(epoch, *progress);
    const std::string what = result.what.empty() ? fmt::format("{} {}", loop.label, result.name) : result.what;
    check_finite(result.value, fmt::format("{} at epoch {}", what, epoch), loop.divergence_advice);
    progress->note(result.name, result.value);
    progress->advance();
    if (loop.checkpoint) ctx.epoch_finished(loop.checkpoint_base + epoch + 1, loop.checkpoint);
  }
  progress->finish();
}

}  // namespace hebbkit
