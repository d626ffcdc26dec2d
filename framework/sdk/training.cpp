#include "hebbkit/training.hpp"

#include <unistd.h>

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "hebbkit/collective.hpp"
#include "hebbkit/dropout.hpp"
#include "hebbkit/context.hpp"
#include "hebbkit/epoch_loop.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/state.hpp"

#include "adam_step.hpp"

namespace hebbkit {

std::vector<torch::Tensor> minibatches(std::int64_t n, std::int64_t batch, bool shuffle, torch::Device device) {
  torch::Tensor order = shuffle ? torch::randperm(n, torch::kInt64) : torch::arange(n, torch::kInt64);
  order = order.to(device);
  std::vector<torch::Tensor> out;
  for (std::int64_t start = 0; start < n; start += batch) out.push_back(order.slice(0, start, std::min(n, start + batch)));
  return out;
}

torch::Tensor apply_batched(const std::function<torch::Tensor(const torch::Tensor&)>& fn, const torch::Tensor& x,
                            std::int64_t batch) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = x.size(0);
  if (n == 0) return fn(x);
  // Each part is copied into the result while it is still in cache (a cat at the end
  // would read every part again from memory); the result never aliases x.
  torch::Tensor out;
  for (std::int64_t start = 0; start < n; start += batch) {
    const auto part = fn(x.slice(0, start, std::min(n, start + batch)));
    if (!out.defined()) {
      auto shape = part.sizes().vec();
      shape[0] = n;
      out = torch::empty(shape, part.options());
    }
    out.slice(0, start, start + part.size(0)).copy_(part);
  }
  return out;
}

void check_finite(double value, const std::string& what, const std::string& advice) {
  if (std::isfinite(value)) return;
  throw NumericalError(fmt::format("{} is {}: training diverged; {}", what,
                                   std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf",
                                   advice.empty() ? "lower the learning rate, or check the preprocessing "
                                                    "(e.g. center + unit_norm)"
                                                  : advice));
}

double machine_memory_bytes() {
  const double pages = static_cast<double>(::sysconf(_SC_PHYS_PAGES)), size = static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  return pages > 0 && size > 0 ? pages * size : 0.0;
}

void check_fits_in_memory(double bytes, const std::string& key, const std::string& what) {
  const double machine = machine_memory_bytes();
  if (machine <= 0 || bytes <= machine) return;
  throw RecipeError(fmt::format("{}: {} need about {:.1f} GB; this machine has {:.1f} GB of memory", key, what,
                                bytes / 1e9, machine / 1e9));
}

double accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (labels.numel() == 0) return 0.0;
  return logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
}

namespace {

// Training inputs and their mirror images' inputs: each row of a minibatch is one or the
// other by a coin drawn as a dropout mask is (one key from torch's generator per minibatch,
// a hash per global row under DropoutRows), so every process draws the global minibatch's.
class MirroredSource final : public BatchSource {
 public:
  MirroredSource(torch::Tensor inputs, torch::Tensor mirrored, torch::Tensor labels)
      : inputs_(std::move(inputs)), mirrored_(std::move(mirrored)), labels_(std::move(labels)) {}
  std::int64_t size() const override { return inputs_.size(0); }
  std::vector<std::int64_t> sample_shape() const override {
    return std::vector<std::int64_t>(inputs_.sizes().begin() + 1, inputs_.sizes().end());
  }
  const torch::Tensor& labels() const override { return labels_; }
  torch::Tensor rows(const torch::Tensor& index) override {
    const auto coins = hebbkit::dropout(torch::ones({index.size(0), 1}, inputs_.options()), 0.5, true).gt(0);
    std::vector<std::int64_t> shape(static_cast<std::size_t>(inputs_.dim()), 1);
    shape[0] = index.size(0);
    return torch::where(coins.view(shape), mirrored_.index_select(0, index), inputs_.index_select(0, index));
  }
  // Not held as one tensor: each minibatch is chosen afresh.
  bool precomputed() const override { return false; }
  torch::Tensor all() override { return inputs_; }

 private:
  torch::Tensor inputs_, mirrored_, labels_;
};

// What autograd makes of one minibatch: the loss and the parameters' gradients.
struct AutogradReference {
  torch::Tensor loss;
  std::vector<torch::Tensor> gradients;
};

// Run before the closed-form step on the same minibatch, with torch's generator and the
// head's buffers put back afterwards: a head with dropout or batch norm then hands its
// closed form the same mask and the same batch statistics.
AutogradReference autograd_reference(const std::vector<torch::Tensor>& parameters,
                                     const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                                     const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of,
                                     const Batch& b, const ClassifierTraining& t) {
  std::vector<torch::Tensor> saved;
  for (const auto& buffer : t.buffers) saved.push_back(buffer.clone());
  AutogradReference out;
  {
    GeneratorGuard same_draws;
    out.loss = loss_of(logits_of(b.inputs), b.labels);
    if (std::isfinite(out.loss.item<double>()))
      out.gradients = torch::autograd::grad({out.loss}, parameters, {}, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true);
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < saved.size(); ++i) t.buffers[i].copy_(saved[i]);
  out.loss = out.loss.detach();
  return out;
}

// The closed form's loss and gradients against autograd's on one minibatch; throws on a
// difference beyond float rounding, naming the head and the parameter.
void check_closed_form(const std::vector<torch::Tensor>& parameters, const AutogradReference& autograd,
                       const ClosedFormStep& closed, const Batch& b, const ClassifierTraining& t) {
  const auto& loss = autograd.loss;
  // A diverged head is reported by the epoch loop's finite-loss check, in its own words.
  if (!std::isfinite(loss.item<double>())) return;
  const auto& reference = autograd.gradients;
  const auto differs = [](const torch::Tensor& a, const torch::Tensor& b) {
    return !a.defined() || a.sizes() != b.sizes() ||
           !torch::allclose(a.to(torch::kFloat64), b.to(torch::kFloat64), 1e-3, 1e-6 * (1 + b.abs().max().item<double>()));
  };
  if (closed.gradients.size() != parameters.size())
    throw std::logic_error(fmt::format("{}: its closed-form step returned {} gradients for {} parameters", t.label,
                                       closed.gradients.size(), parameters.size()));
  if (closed.correct >= 0) {
    const auto counted = closed.logits.argmax(1).eq(b.labels).sum().item<std::int64_t>();
    if (closed.correct != counted)
      throw std::logic_error(fmt::format("{}: its closed-form step counted {} rows right, its logits' argmax {}",
                                         t.label, closed.correct, counted));
  }
  if (differs(closed.loss.reshape({}), loss))
    throw std::logic_error(fmt::format("{}: its closed-form loss {} differs from autograd's {}", t.label,
                                       closed.loss.item<double>(), loss.item<double>()));
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const auto expected = reference[i].defined() ? reference[i] : torch::zeros_like(parameters[i]);
    if (!torch::isfinite(expected).all().item<bool>()) return;
    if (differs(closed.gradients[i], expected))
      throw std::logic_error(fmt::format(
          "{}: its closed-form gradient of parameter {} differs from autograd's (largest difference {})", t.label, i,
          closed.gradients[i].defined() && closed.gradients[i].sizes() == expected.sizes()
              ? (closed.gradients[i] - expected).abs().max().item<double>()
              : std::numeric_limits<double>::infinity()));
  }
}


void step(torch::optim::Optimizer& optimizer) {
  if (auto* adam = dynamic_cast<torch::optim::Adam*>(&optimizer))
    adam_step(*adam);
  else
    optimizer.step();
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& parameters,
                                                        const OptimizerParams& p) {
  if (p.optimizer == OptimizerKind::Sgd)
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(p.lr).momentum(p.momentum).weight_decay(p.weight_decay));
  if (p.optimizer == OptimizerKind::AdamW)
    return std::make_unique<torch::optim::AdamW>(parameters,
                                                 torch::optim::AdamWOptions(p.lr).weight_decay(p.weight_decay));
  return std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(p.lr).weight_decay(p.weight_decay));
}

void fit_classifier(const std::vector<torch::Tensor>& parameters,
                    const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of,
                    const torch::Tensor& inputs, const torch::Tensor& labels, const torch::Tensor& val_inputs,
                    const torch::Tensor& val_labels, const ClassifierTraining& t, RunContext& ctx) {
  std::optional<TensorSource> val;
  if (val_inputs.defined()) val.emplace(val_inputs, val_labels);
  if (t.mirrored.defined()) {
    if (t.mirrored.sizes() != inputs.sizes())
      throw std::invalid_argument(fmt::format("fit_classifier: mirrored inputs {} for inputs {}",
                                              fmt::join(t.mirrored.sizes(), "x"), fmt::join(inputs.sizes(), "x")));
    MirroredSource train(inputs, t.mirrored, labels);
    fit_classifier(parameters, logits_of, loss_of, train, val ? &*val : nullptr, t, ctx);
    return;
  }
  TensorSource train(inputs, labels);
  fit_classifier(parameters, logits_of, loss_of, train, val ? &*val : nullptr, t, ctx);
}

void fit_classifier(const std::vector<torch::Tensor>& parameters,
                    const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of,
                    BatchSource& train, BatchSource* val, const ClassifierTraining& t, RunContext& ctx) {
  const std::int64_t n = train.size();
  auto& world = ctx.collective();
  auto optimizer = make_optimizer(parameters, t.optimizer);
  const auto train_mode = [&](bool on) {
    if (t.train_mode) t.train_mode(on);
  };
  std::int64_t first_epoch = 0;
  if (auto resume = ctx.resume_point()) {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters.size(); ++i)
      parameters[i].copy_(find_state(resume->tensors, fmt::format("param{}", i)));
    for (std::size_t i = 0; i < t.buffers.size(); ++i)
      t.buffers[i].copy_(find_state(resume->tensors, fmt::format("buffer{}", i)));
    load_optimizer_state(*optimizer, find_state(resume->tensors, "optimizer"));
    first_epoch = resume->epochs_done;
  }
  const auto checkpoint = [&] {
    std::vector<NamedTensor> state;
    for (std::size_t i = 0; i < parameters.size(); ++i) state.emplace_back(fmt::format("param{}", i), parameters[i]);
    for (std::size_t i = 0; i < t.buffers.size(); ++i) state.emplace_back(fmt::format("buffer{}", i), t.buffers[i]);
    state.emplace_back("optimizer", optimizer_state(*optimizer));
    return state;
  };
  double train_accuracy = -1;
  std::int64_t classes = 0;
  bool closed_form_checked = false;
  const torch::Tensor in_place = t.closed_form && train.precomputed() ? train.all() : torch::Tensor();
  EpochLoop loop{t.label, t.epochs, first_epoch};
  loop.checkpoint = checkpoint;
  loop.lr_at = [&](std::int64_t epoch) { return t.optimizer.lr_at(epoch); };
  loop.optimizers = {optimizer.get()};
  loop.divergence_advice = t.divergence_advice;
  loop.epoch_step = [&](std::int64_t epoch, Progress&) {
    Meter loss_meter;
    std::int64_t correct = 0;
    if (world.size() > 1) sync_generator(world);  // dropout draws as many numbers as a process has rows
    train_mode(true);
    // Each process takes its slice of every global minibatch (shard); a closed-form step
    // reads a held training set's rows in place. The same shuffled order either way.
    const auto each_batch = [&](const std::function<void(const Batch&, std::int64_t global_rows)>& fn) {
      for (const auto& global : minibatches(n, t.batch, /*shuffle=*/true, train.labels().device())) {
        const auto idx = shard(global, world);
        const DropoutRows rows(shard_range(global.size(0), world).begin);  // masks as one process's
        torch::Tensor inputs;
        if (!in_place.defined()) {
          torch::NoGradGuard no_grad;
          inputs = train.rows(idx);
        }
        fn(Batch{std::move(inputs), train.labels().index_select(0, idx), idx}, global.size(0));
      }
    };
    each_batch([&](const Batch& b, std::int64_t global_rows) {
      if (b.index.size(0) == 0) {  // a last global minibatch with fewer rows than processes
        for (auto& p : parameters) p.mutable_grad() = torch::zeros_like(p);
        all_reduce_gradients(parameters, world, 0.0);
        step(*optimizer);
        ctx.check_interrupted();
        return;
      }
      torch::Tensor logits, loss;
      std::int64_t counted = -1;
      if (t.closed_form) {
        std::optional<Batch> gathered;
        std::optional<AutogradReference> reference;
        if (!closed_form_checked) {
          gathered = b.inputs.defined() ? b : Batch{RowSelection{in_place, b.index}.gathered(), b.labels, b.index};
          reference = autograd_reference(parameters, logits_of, loss_of, *gathered, t);
        }
        ClosedFormStep step;
        {
          torch::NoGradGuard no_grad;
          step = t.closed_form(in_place.defined() ? RowSelection{in_place, b.index} : RowSelection{b.inputs, {}},
                               b.labels);
        }
        if (!closed_form_checked) {
          check_closed_form(parameters, *reference, step, *gathered, t);
          closed_form_checked = true;
        }
        for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].mutable_grad() = step.gradients[i];
        logits = std::move(step.logits);
        loss = std::move(step.loss);
        counted = step.correct;
      } else {
        logits = logits_of(b.inputs);
        loss = loss_of(logits, b.labels);
        optimizer->zero_grad();
        loss.backward();
      }
      // The global minibatch's mean gradient: each process's mean weighted by its share.
      all_reduce_gradients(parameters, world, static_cast<double>(b.index.size(0)) / static_cast<double>(global_rows));
      step(*optimizer);
      loss_meter.add(loss.item<double>(), static_cast<double>(b.index.size(0)));
      correct += counted >= 0 ? counted : logits.argmax(1).eq(b.labels).sum().item<std::int64_t>();
      if (classes == 0) classes = logits.size(1);
      ctx.check_interrupted();
    });
    train_mode(false);
    // What the processes counted, summed: every process logs the same numbers.
    std::vector<torch::Tensor> counts = {
        torch::tensor({loss_meter.sum(), loss_meter.weight(), static_cast<double>(correct)}, torch::kFloat64)};
    world.all_reduce_sum(counts);
    const auto* summed = counts[0].data_ptr<double>();
    const double loss = summed[1] > 0 ? summed[0] / summed[1] : 0.0;  // run_epochs stops the run when NaN or infinite
    correct = static_cast<std::int64_t>(summed[2]);
    train_accuracy = double(correct) / n;
    ctx.metric("loss", loss, epoch);
    ctx.metric("train_accuracy", train_accuracy, epoch);
    ctx.metric("lr", t.optimizer.lr_at(epoch), epoch);
    if (val != nullptr && val->size() > 0) {
      torch::NoGradGuard no_grad;
      const auto logits = logits_of(val->all());
      ctx.metric("val_accuracy", accuracy(logits, val->labels()), epoch);
      ctx.metric("val_loss", loss_of(logits, val->labels()).item<double>(), epoch);
    }
    return EpochResult{"loss", loss};
  };
  run_epochs(loop, ctx);
  // A finite loss can hide a head that learnt nothing (e.g. saturated activations).
  if (classes > 1 && train_accuracy >= 0 && train_accuracy < 1.5 / classes)
    ctx.warn("{}: train accuracy after the last epoch is {:.1f}%, near chance ({:.1f}% for {} classes): the head "
             "learnt nothing — check the preprocessing, the learning rate and the feature scale",
             t.label, 100 * train_accuracy, 100.0 / classes, classes);
}

}  // namespace hebbkit
