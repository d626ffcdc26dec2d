#include "ff_schedule.hpp"

#include <fmt/format.h>
#include <hebbkit/collective.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/epoch_loop.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/state.hpp>
#include <hebbkit/training.hpp>
#include <torch/optim/optimizer.h>

namespace hebbkit::ff {

double Training::lr_at(std::int64_t epoch) const {
  const double lr = optimizer.lr_at(epoch);
  if (!lr_cooldown || epoch <= epochs / 2) return lr;
  return lr * 2.0 * static_cast<double>(1 + epochs - epoch) / static_cast<double>(epochs);
}

LayerObjective Training::objective_for(const Stack& stack, std::size_t index) const {
  auto out = objective;
  out.input_scale = stack.input_scale(index);
  return out;
}

Greedy::Greedy(Stack& stack, const Training& training, const Negatives& negatives, RunContext& ctx,
               const std::optional<TrainingCheckpoint>& resume)
    : stack_(stack), training_(training), negatives_(negatives), ctx_(ctx) {
  if (!resume) return;
  {
    GeneratorGuard keep;  // building the modules must not use up random numbers
    stack_.append_from(resume->tensors);
  }
  if (stack_.empty() || resume->epochs_done < 1)
    throw DataError("forward_forward: the checkpoint holds no layer in training");
  const std::size_t layer = stack_.size() - 1;
  resume_ = Continue{layer, resume->epochs_done - static_cast<std::int64_t>(layer) * training_.epochs,
                     find_state(resume->tensors, "optimizer")};
}

torch::Tensor Greedy::add_and_train(const torch::Tensor& positive, std::int64_t width, bool checkpointed) {
  std::size_t index = stack_.size();
  std::int64_t first_epoch = 0;
  torch::Tensor optimizer_bytes;
  if (resume_) {
    // The checkpoint restored layers [0, resume_->layer]; those below it are trained.
    index = next_layer_;
    if (index < resume_->layer) {
      ++next_layer_;
      return stack_.apply_layer(positive, index);
    }
    first_epoch = resume_->epochs;
    optimizer_bytes = resume_->optimizer;
    resume_.reset();
  } else {
    stack_.add(positive.size(1), width, ctx_.device());
  }
  next_layer_ = index + 1;
  auto& linear = stack_.layer(index);
  const auto optimizer = make_optimizer(linear->parameters(), training_.optimizer);
  if (optimizer_bytes.defined()) load_optimizer_state(*optimizer, optimizer_bytes);
  const auto objective = training_.objective_for(stack_, index);
  auto running_mean = torch::full({width}, 0.5, linear->weight.options());
  const std::int64_t n = positive.size(0), batch = training_.batch > 0 ? training_.batch : n;
  EpochLoop loop{fmt::format("ff layer {} ({} -> {})", index, positive.size(1), width), training_.epochs, first_epoch};
  loop.lr_at = [this](std::int64_t epoch) { return training_.lr_at(epoch); };
  loop.optimizers = {optimizer.get()};
  if (checkpointed) {
    loop.checkpoint_base = static_cast<std::int64_t>(index) * training_.epochs;
    loop.checkpoint = [&] {
      auto state = stack_.state();
      state.emplace_back("optimizer", optimizer_state(*optimizer));
      return state;
    };
  }
  torch::Tensor batch_rows;  // reused: [positives; negatives] of each minibatch
  auto& world = ctx_.collective();
  loop.epoch_step = [&](std::int64_t epoch, Progress&) {
    const auto negative = stack_.through(negatives_.draw(), index);
    Meter loss;
    double pos_sum = 0, neg_sum = 0;
    for (const auto& idx : minibatches(n, batch, batch < n, ctx_.device())) {
      // Data-parallel: this process's shard of the minibatch, the step's sums all-reduced.
      const auto local = shard(idx, world);
      gather_batch(positive, negative, local, batch_rows);
      const Shard part{world, idx.size(0)};
      const auto step = train_step(linear, *optimizer, batch_rows, local.size(0), objective, &running_mean, nullptr,
                                   world.size() > 1 ? &part : nullptr);
      loss.add(step.loss, static_cast<double>(idx.size(0)));
      pos_sum += step.goodness_pos;
      neg_sum += step.goodness_neg;
    }
    const auto step = static_cast<std::int64_t>(index);
    ctx_.metric(fmt::format("layer{}_loss", index), loss.mean(), epoch, step);
    ctx_.metric(fmt::format("layer{}_goodness_pos", index), pos_sum / n, epoch, step);
    ctx_.metric(fmt::format("layer{}_goodness_neg", index), neg_sum / n, epoch, step);
    return EpochResult{"loss", loss.mean(), fmt::format("forward_forward layer {} loss", index)};
  };
  run_epochs(loop, ctx_);
  return stack_.apply_layer(positive, index);
}

void grow(Greedy& greedy, Stack& stack, torch::Tensor positive, std::int64_t width, std::int64_t max_layers,
          double margin, const std::function<double()>& val_accuracy, RunContext& ctx) {
  double best = val_accuracy();
  ctx.metric("val_accuracy_by_depth", best, static_cast<std::int64_t>(stack.size()));
  while (static_cast<std::int64_t>(stack.size()) < max_layers) {
    const auto next = greedy.add_and_train(positive, width, /*checkpointed=*/false);
    const double acc = val_accuracy();
    ctx.metric("val_accuracy_by_depth", acc, static_cast<std::int64_t>(stack.size()));
    if (acc - best <= margin) {
      ctx.info("growth: layer {} brought validation accuracy {:.2f}% -> {:.2f}%, not more than {:.2f} points; removed",
               stack.size(), 100 * best, 100 * acc, 100 * margin);
      stack.pop();
      break;
    }
    ctx.info("growth: layer {} kept, validation accuracy {:.2f}% -> {:.2f}%", stack.size(), 100 * best, 100 * acc);
    best = acc;
    positive = next;
  }
}

void train_simultaneous(Stack& stack, const std::vector<std::int64_t>& sizes, const torch::Tensor& positive,
                        const Training& training, const Negatives& negatives, RunContext& ctx,
                        const std::optional<TrainingCheckpoint>& resume,
                        const std::function<void(std::int64_t epoch)>& after_epoch) {
  const std::size_t count = sizes.size();
  std::int64_t first_epoch = 0;
  if (resume) {
    {
      GeneratorGuard keep;  // building the modules must not use up random numbers
      stack.append_from(resume->tensors);
    }
    if (stack.size() != count)
      throw DataError(
          fmt::format("forward_forward: the checkpoint holds {} layers, sizes has {}", stack.size(), count));
    first_epoch = resume->epochs_done;
  } else {
    std::int64_t below = positive.size(1);
    for (const auto width : sizes) stack.add(below, width, ctx.device()), below = width;
  }
  std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers;
  std::vector<torch::Tensor> running;
  for (std::size_t i = 0; i < count; ++i) {
    optimizers.push_back(make_optimizer(stack.layer(i)->parameters(), training.optimizer));
    if (resume) {
      load_optimizer_state(*optimizers[i], find_state(resume->tensors, fmt::format("optimizer{}", i)));
      running.push_back(find_state(resume->tensors, fmt::format("peer{}", i)).to(ctx.device()).clone());
    } else {
      running.push_back(torch::full({sizes[i]}, 0.5, stack.layer(i)->weight.options()));
    }
  }
  const std::int64_t n = positive.size(0), batch = training.batch > 0 ? training.batch : n;
  EpochLoop loop{fmt::format("ff {} layers together", count), training.epochs, first_epoch};
  loop.lr_at = [&](std::int64_t epoch) { return training.lr_at(epoch); };
  for (auto& optimizer : optimizers) loop.optimizers.push_back(optimizer.get());
  loop.checkpoint = [&] {
    auto state = stack.state();
    for (std::size_t i = 0; i < count; ++i) {
      state.emplace_back(fmt::format("optimizer{}", i), optimizer_state(*optimizers[i]));
      state.emplace_back(fmt::format("peer{}", i), running[i]);
    }
    return state;
  };
  torch::Tensor batch_rows;
  auto& world = ctx.collective();
  loop.epoch_step = [&](std::int64_t epoch, Progress&) {
    const auto negative = negatives.draw();
    std::vector<double> loss(count), pos(count), neg(count), peer(count);
    std::int64_t steps = 0;
    for (const auto& idx : minibatches(n, batch, batch < n, ctx.device())) {
      const auto local = shard(idx, world);
      gather_batch(positive, negative, local, batch_rows);
      const Shard part{world, idx.size(0)};
      torch::Tensor x = batch_rows;
      for (std::size_t i = 0; i < count; ++i) {
        torch::Tensor above;
        const auto step = train_step(stack.layer(i), *optimizers[i], x, local.size(0), training.objective_for(stack, i),
                                     &running[i], i + 1 < count ? &above : nullptr, world.size() > 1 ? &part : nullptr);
        loss[i] += step.loss * static_cast<double>(idx.size(0));
        pos[i] += step.goodness_pos;
        neg[i] += step.goodness_neg;
        peer[i] += step.peer_loss;
        x = above;
      }
      ++steps;
    }
    double total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const double layer_loss = loss[i] / static_cast<double>(n);
      check_finite(layer_loss, fmt::format("forward_forward layer {} loss at epoch {}", i, epoch));
      total += layer_loss;
      ctx.metric(fmt::format("layer{}_loss", i), layer_loss, epoch);
      ctx.metric(fmt::format("layer{}_goodness_pos", i), pos[i] / static_cast<double>(n), epoch);
      ctx.metric(fmt::format("layer{}_goodness_neg", i), neg[i] / static_cast<double>(n), epoch);
      if (training.objective.peer_weight > 0)
        ctx.metric(fmt::format("layer{}_peer_loss", i), peer[i] / static_cast<double>(steps), epoch);
    }
    ctx.metric("lr", training.lr_at(epoch), epoch);
    after_epoch(epoch);
    return EpochResult{"loss", total};
  };
  run_epochs(loop, ctx);
}

}  // namespace hebbkit::ff
