#include "scff_training.hpp"

#include <cmath>

#include <fmt/format.h>
#include <hebbkit/epoch_loop.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/state.hpp>
#include <hebbkit/training.hpp>

namespace hebbkit::scff {

double LayerTraining::lr_at(std::int64_t step) const {
  return lr * std::pow(lr_decay, static_cast<double>((step + 1) / std::max<std::int64_t>(1, decay_every)));
}

StepResult train_step(Stack& stack, std::size_t index, torch::optim::Optimizer& optimizer, const torch::Tensor& positive,
                      const torch::Tensor& negative, const Objective& objective, Collective& world,
                      std::int64_t global_rows) {
  optimizer.zero_grad();
  const std::int64_t rows = positive.size(0);
  if (world.size() == 1 || global_rows == 0) {
    const auto g_pos = goodness(stack.preactivation(index, positive));
    const auto g_neg = goodness(stack.preactivation(index, negative));
    const auto value = loss(g_pos, g_neg, objective);
    value.backward();
    optimizer.step();
    return {value.item<double>(), g_pos.sum().item<double>(), g_neg.sum().item<double>()};
  }
  // The loss is a mean of per-row terms: this shard's mean times its share of the rows,
  // summed over the processes, is the global minibatch's.
  const double share = static_cast<double>(rows) / static_cast<double>(global_rows);
  auto sums = torch::zeros({3}, torch::kFloat64);
  if (rows > 0) {
    const auto g_pos = goodness(stack.preactivation(index, positive));
    const auto g_neg = goodness(stack.preactivation(index, negative));
    const auto value = loss(g_pos, g_neg, objective);
    value.backward();
    sums = torch::tensor({value.item<double>() * share, g_pos.sum().item<double>(), g_neg.sum().item<double>()},
                         torch::kFloat64);
  }
  all_reduce_gradients(stack.layer(index)->parameters(), world, share);
  std::vector<torch::Tensor> results = {sums};
  world.all_reduce_sum(results);
  optimizer.step();
  return {results[0][0].item<double>(), results[0][1].item<double>(), results[0][2].item<double>()};
}

namespace {

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

OptimizerParams adamw(const LayerTraining& layer) {
  OptimizerParams out;
  out.optimizer = OptimizerKind::AdamW;
  out.lr = layer.lr;
  out.weight_decay = layer.weight_decay;
  return out;
}

}  // namespace

void train_greedy(Stack& stack, const std::vector<LayerTraining>& layers, const torch::Tensor& images,
                  std::int64_t batch, const Views& views, RunContext& ctx,
                  const std::optional<TrainingCheckpoint>& resume) {
  std::size_t first_layer = 0;
  std::int64_t resume_epochs = 0;
  torch::Tensor optimizer_bytes;
  if (resume) {
    {
      GeneratorGuard keep;  // rebuilding the layers must not use up random numbers
      stack.append_from(resume->tensors);
    }
    if (stack.empty()) throw DataError("scff: the checkpoint holds no layer in training");
    first_layer = stack.size() - 1;
    resume_epochs = resume->epochs_done;
    for (std::size_t i = 0; i < first_layer; ++i) resume_epochs -= layers.at(i).epochs;
    optimizer_bytes = find_state(resume->tensors, "optimizer");
  }
  const std::int64_t n = images.size(0);
  const std::int64_t batches_per_epoch = (n + batch - 1) / batch;
  const std::int64_t image_values = images[0].numel();
  std::int64_t base = 0;
  for (std::size_t i = 0; i < first_layer; ++i) base += layers[i].epochs;
  for (std::size_t index = first_layer; index < layers.size(); ++index) {
    const auto& layer = layers[index];
    std::int64_t first_epoch = 0;
    if (index == first_layer && resume) {
      first_epoch = resume_epochs;
    } else {
      const auto inputs = index == 0 ? image_values : layers[index - 1].width;
      stack.add(inputs, layer.width, ctx.device());
    }
    auto& linear = stack.layer(index);
    const auto optimizer = make_optimizer(linear->parameters(), adamw(layer));
    if (index == first_layer && optimizer_bytes.defined()) load_optimizer_state(*optimizer, optimizer_bytes);
    ctx.info("layer {}: {} units on {} values{}; {} epochs, AdamW lr {} x {} every {} minibatches, weight decay {}; "
             "goodness of positives above {}, of negatives below {}, penalty {}",
             index, layer.width, linear->weight.size(1), index == 0 ? " (a pair of images, shared weights)" : "",
             layer.epochs, layer.lr, layer.lr_decay, layer.decay_every, layer.weight_decay, layer.objective.theta_pos,
             layer.objective.theta_neg, layer.objective.penalty);
    EpochLoop loop{fmt::format("scff layer {} ({} -> {})", index, linear->weight.size(1), layer.width), layer.epochs,
                   first_epoch};
    loop.checkpoint_base = base;
    loop.checkpoint = [&] {
      auto state = stack.state();
      state.emplace_back("optimizer", optimizer_state(*optimizer));
      return state;
    };
    auto& world = ctx.collective();
    loop.epoch_step = [&](std::int64_t epoch, Progress&) {
      Meter loss_meter;
      double pos_sum = 0, neg_sum = 0;
      std::int64_t seen = 0, step = epoch * batches_per_epoch;
      for (const auto& idx : minibatches(n, batch, true, images.device())) {
        ctx.check_interrupted();
        set_lr(*optimizer, layer.lr_at(step++));
        if (idx.size(0) < 2) continue;
        // Every process draws the global minibatch's pairs from the shared seed and trains
        // on its rows of them.
        auto pairs = draw_pairs(images.index_select(0, idx), views);
        const auto mine = shard_range(pairs.positive.size(0), world);
        const auto positive = stack.through(pairs.positive.slice(0, mine.begin, mine.end), index);
        const auto negative = stack.through(pairs.negative.slice(0, mine.begin, mine.end), index);
        const auto result =
            train_step(stack, index, *optimizer, positive, negative, layer.objective, world, pairs.positive.size(0));
        loss_meter.add(result.loss, static_cast<double>(idx.size(0)));
        pos_sum += result.goodness_pos;
        neg_sum += result.goodness_neg;
        seen += idx.size(0);
      }
      const auto i = static_cast<std::int64_t>(index);
      ctx.metric(fmt::format("layer{}_loss", index), loss_meter.mean(), epoch, i);
      ctx.metric(fmt::format("layer{}_goodness_pos", index), pos_sum / static_cast<double>(seen), epoch, i);
      ctx.metric(fmt::format("layer{}_goodness_neg", index), neg_sum / static_cast<double>(seen), epoch, i);
      ctx.metric(fmt::format("layer{}_lr", index), layer.lr_at(step - 1), epoch, i);
      return EpochResult{"loss", loss_meter.mean(), fmt::format("scff layer {} loss", index)};
    };
    run_epochs(loop, ctx);
    base += layer.epochs;
  }
}

}  // namespace hebbkit::scff
