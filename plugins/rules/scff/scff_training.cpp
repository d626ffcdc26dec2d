#include "scff_training.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <hebbkit/epoch_loop.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/one_or_each.hpp>
#include <hebbkit/state.hpp>
#include <hebbkit/training.hpp>

namespace hebbkit::scff {

double LayerTraining::lr_at(std::int64_t step) const {
  return lr * std::pow(lr_decay, static_cast<double>((step + 1) / std::max<std::int64_t>(1, decay_every)));
}

TrainingKeys::TrainingKeys(const TrainingDefaults& d)
    : epochs(param("epochs", d.epochs, "epochs of each layer (one value: every layer)").at_least(0)),
      batch(param("batch", d.batch, "minibatch size (images; each gives a positive and a negative pair)").at_least(2)),
      lr(param("lr", d.lr, "AdamW's learning rate of each layer").at_least(0)),
      lr_decay(param("lr_decay", d.lr_decay, "each layer's rate is multiplied by this every decay_every minibatches")),
      decay_every(param("decay_every", d.decay_every, "minibatches between learning-rate decays").at_least(1)),
      weight_decay(param("weight_decay", d.weight_decay, "AdamW's decoupled weight decay of each layer").at_least(0)),
      theta_pos(param("theta_pos", d.theta_pos, "goodness that positive pairs are pushed above, per layer")),
      theta_neg(param("theta_neg", d.theta_neg, "goodness that negative pairs are pushed below, per layer")),
      penalty(param("penalty", d.penalty,
                    "weight of the positives' |goodness| (a conv layer's: its norm over places) in each layer's loss "
                    "(the authors' lamda)")
                  .at_least(0)) {}

std::vector<LayerTraining> TrainingKeys::per_layer(std::size_t layers, const Params& p) const {
  for (const auto& [key, given] :
       {std::pair<const char*, std::size_t>{"epochs", epochs.size()}, {"lr", lr.size()}, {"lr_decay", lr_decay.size()},
        {"decay_every", decay_every.size()}, {"weight_decay", weight_decay.size()}, {"theta_pos", theta_pos.size()},
        {"theta_neg", theta_neg.size()}, {"penalty", penalty.size()}})
    check_one_or_each(p, key, given, layers, "layer");
  // An lr_decay of 0 would zero the rate after decay_every minibatches: (0, 1] only.
  for (const auto d : lr_decay)
    if (d <= 0 || d > 1) p.fail("lr_decay", fmt::format("must lie in (0, 1]; got {}", d));
  std::vector<LayerTraining> out;
  for (std::size_t i = 0; i < layers; ++i) {
    LayerTraining t;
    t.epochs = one_or_each(epochs, i);
    t.lr = one_or_each(lr, i);
    t.lr_decay = one_or_each(lr_decay, i);
    t.decay_every = one_or_each(decay_every, i);
    t.weight_decay = one_or_each(weight_decay, i);
    t.objective = {one_or_each(theta_pos, i), one_or_each(theta_neg, i), one_or_each(penalty, i)};
    out.push_back(t);
  }
  return out;
}

namespace {

// Goodness per sample (a conv layer's averaged over places), summed over the batch.
double per_sample_sum(const torch::Tensor& g) {
  return (g.dim() == 1 ? g.sum() : g.reshape({g.size(0), -1}).mean(1).sum()).item<double>();
}

}  // namespace

Pairs layer_inputs(Layers& stack, std::size_t index, const Pairs& images, ShardRange mine) {
  const auto rows = [&](const torch::Tensor& t) { return t.slice(0, mine.begin, mine.end); };
  std::size_t pairing = 0;  // the highest layer up to `index` that reads pairs
  for (std::size_t i = 1; i <= index; ++i)
    if (stack.reads_pairs(i)) pairing = i;
  if (pairing == 0)
    return {stack.through(rows(images.positive), index), stack.through(rows(images.negative), index)};
  torch::NoGradGuard no_grad;
  const auto below = stack.through(images.positive, 0, pairing);
  const auto s = standardize(below);
  const auto fresh = make_pairs(s, s, draw_offset(s.size(0)));
  return {stack.through(rows(fresh.positive), pairing, index), stack.through(rows(fresh.negative), pairing, index)};
}

namespace {

// The loss of rows `positive` and `negative` backpropagated (gradients added to the layer's),
// chunk_rows() rows at a time for a stack that wants it: each chunk's loss, a mean over its
// rows, weighted by its share of them, so the gradient is the whole batch's.
StepResult backpropagate(Layers& stack, std::size_t index, const torch::Tensor& positive,
                         const torch::Tensor& negative, const Objective& objective) {
  const std::int64_t rows = positive.size(0);
  const std::int64_t chunk = stack.chunk_rows() > 0 ? stack.chunk_rows() : rows;
  StepResult out;
  for (std::int64_t start = 0; start < rows; start += chunk) {
    const std::int64_t end = std::min(rows, start + chunk);
    const double weight = static_cast<double>(end - start) / static_cast<double>(rows);
    const auto g_pos = goodness(stack.preactivation(index, positive.slice(0, start, end)));
    const auto g_neg = goodness(stack.preactivation(index, negative.slice(0, start, end)));
    const auto value = loss(g_pos, g_neg, objective);
    (weight == 1.0 ? value : value * weight).backward();
    out.loss += value.item<double>() * weight;
    out.goodness_pos += per_sample_sum(g_pos);
    out.goodness_neg += per_sample_sum(g_neg);
  }
  return out;
}

}  // namespace

StepResult train_step(Layers& stack, std::size_t index, torch::optim::Optimizer& optimizer, const torch::Tensor& positive,
                      const torch::Tensor& negative, const Objective& objective, Collective& world,
                      std::int64_t global_rows) {
  optimizer.zero_grad();
  const std::int64_t rows = positive.size(0);
  if (world.size() == 1 || global_rows == 0) {
    const auto result = backpropagate(stack, index, positive, negative, objective);
    optimizer.step();
    return result;
  }
  // The loss is a mean of per-row terms: this shard's mean times its share of the rows,
  // summed over the processes, is the global minibatch's.
  const double share = static_cast<double>(rows) / static_cast<double>(global_rows);
  auto sums = torch::zeros({3}, torch::kFloat64);
  if (rows > 0) {
    const auto local = backpropagate(stack, index, positive, negative, objective);
    sums = torch::tensor({local.loss * share, local.goodness_pos, local.goodness_neg}, torch::kFloat64);
  }
  all_reduce_gradients(stack.layer_parameters(index), world, share);
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

void train_greedy(Layers& stack, const std::vector<LayerTraining>& layers, const torch::Tensor& images,
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
  std::int64_t base = 0;
  for (std::size_t i = 0; i < first_layer; ++i) base += layers[i].epochs;
  for (std::size_t index = first_layer; index < layers.size(); ++index) {
    const auto& layer = layers[index];
    std::int64_t first_epoch = 0;
    if (index == first_layer && resume)
      first_epoch = resume_epochs;
    else
      stack.grow(ctx.device());
    const auto optimizer = make_optimizer(stack.layer_parameters(index), adamw(layer));
    if (index == first_layer && optimizer_bytes.defined()) load_optimizer_state(*optimizer, optimizer_bytes);
    ctx.info("layer {}: {}; {} epochs, AdamW lr {} x {} every {} minibatches, weight decay {}; goodness of positives "
             "above {}, of negatives below {}, penalty {}",
             index, stack.describe(index), layer.epochs, layer.lr, layer.lr_decay, layer.decay_every,
             layer.weight_decay, layer.objective.theta_pos, layer.objective.theta_neg, layer.objective.penalty);
    EpochLoop loop{fmt::format("scff layer {}", index), layer.epochs, first_epoch};
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
        const auto pairs = draw_pairs(images.index_select(0, idx), views);
        const auto inputs = layer_inputs(stack, index, pairs, shard_range(pairs.positive.size(0), world));
        const auto result = train_step(stack, index, *optimizer, inputs.positive, inputs.negative, layer.objective,
                                       world, pairs.positive.size(0));
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
