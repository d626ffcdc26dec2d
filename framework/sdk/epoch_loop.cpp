#include "hebbkit/epoch_loop.hpp"

#include <fmt/format.h>
#include <torch/optim/optimizer.h>

#include "hebbkit/collective.hpp"
#include "hebbkit/context.hpp"
#include "hebbkit/dropout.hpp"
#include "hebbkit/progress.hpp"
#include "hebbkit/training.hpp"

namespace hebbkit {

namespace {

void walk_batches(const EpochLoop& loop, std::int64_t epoch, RunContext& ctx) {
  auto& world = ctx.collective();
  if (world.size() == 1 || loop.whole_batches) {
    loop.source->for_each_batch(loop.batch, loop.shuffle, [&](const Batch& b) {
      loop.batch_step(epoch, b);
      ctx.check_interrupted();
    });
    return;
  }
  // Every process draws the same global order from the same generator and takes its shard.
  auto& source = *loop.source;
  const auto& labels = source.labels();
  for (const auto& global : minibatches(source.size(), loop.batch, loop.shuffle, labels.device())) {
    const auto idx = shard(global, world);
    torch::Tensor inputs;
    {
      torch::NoGradGuard no_grad;
      inputs = source.rows(idx);
    }
    const DropoutRows rows(shard_range(global.size(0), world).begin);  // masks as one process's
    loop.batch_step(epoch, Batch{std::move(inputs), labels.index_select(0, idx), idx});
    ctx.check_interrupted();
  }
}

}  // namespace

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
    if (loop.source != nullptr) walk_batches(loop, epoch, ctx);
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
