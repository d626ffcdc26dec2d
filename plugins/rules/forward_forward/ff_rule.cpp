// Forward-Forward (Hinton 2022): a stack of Linear + ReLU layers, each trained greedily
// with its own optimizer to give high goodness to positive data and low goodness to
// negative data. Supervised: the label is written over the first pixels (wrong labels make
// the negatives). Unsupervised: negatives are hybrids of two images under a blurred mask.
#include <hebbkit/goodness.hpp>
#include <hebbkit/hebbkit.hpp>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "ff_core.hpp"

namespace {

using hebbkit::ff::direction;

using hebbkit::param;

enum class Mode { Supervised, Unsupervised };
hebbkit::Choices<Mode> param_choices(Mode) { return {{Mode::Supervised, "supervised"}, {Mode::Unsupervised, "unsupervised"}}; }
enum class Output { All, SkipFirst, Last };
hebbkit::Choices<Output> param_choices(Output) { return {{Output::All, "all"}, {Output::SkipFirst, "skip_first"}, {Output::Last, "last"}}; }
enum class Schedule { Greedy, Simultaneous };
hebbkit::Choices<Schedule> param_choices(Schedule) { return {{Schedule::Greedy, "greedy"}, {Schedule::Simultaneous, "simultaneous"}}; }
enum class Goodness { Mean, Sum };
hebbkit::Choices<Goodness> param_choices(Goodness) { return {{Goodness::Mean, "mean"}, {Goodness::Sum, "sum"}}; }
enum class InputNorm { Unit, Rms };
hebbkit::Choices<InputNorm> param_choices(InputNorm) { return {{InputNorm::Unit, "unit"}, {InputNorm::Rms, "rms"}}; }
enum class ReluGrad { Masked, Full };
hebbkit::Choices<ReluGrad> param_choices(ReluGrad) { return {{ReluGrad::Masked, "masked"}, {ReluGrad::Full, "full"}}; }
enum class Init { Torch, Normal };
hebbkit::Choices<Init> param_choices(Init) { return {{Init::Torch, "torch"}, {Init::Normal, "normal"}}; }
enum class HeadInput { Image, NeutralLabel };
hebbkit::Choices<HeadInput> param_choices(HeadInput) { return {{HeadInput::Image, "image"}, {HeadInput::NeutralLabel, "neutral_label"}}; }
enum class OutputNorm { None, Rms };
hebbkit::Choices<OutputNorm> param_choices(OutputNorm) { return {{OutputNorm::None, "none"}, {OutputNorm::Rms, "rms"}}; }

class ForwardForward final : public hebbkit::Rule, public hebbkit::OverlaidLayer {
 public:
  static constexpr const char* name = "forward_forward";
  static constexpr const char* summary = "Hinton's Forward-Forward: layer-local goodness, supervised or unsupervised";
  struct Config {
    std::vector<std::int64_t> sizes =
        param("sizes", std::vector<std::int64_t>{500, 500}, "widths of the layers, trained bottom-up").at_least(1);
    Mode mode = param("mode", Mode::Supervised,
                      "supervised: label overlay, wrong-label negatives; unsupervised: hybrid-image negatives");
    double theta = param("theta", 2.0, "goodness threshold").at_least(0);
    std::int64_t epochs = param("epochs", 60, "epochs per layer").at_least(0);
    std::int64_t batch = param("batch", 0, "minibatch size; 0: the whole training set at once").at_least(0);
    Output output = param("output", Output::SkipFirst,
                          "what forward() gives a head: the activities of all layers, all but the first, or the last");
    bool skip_first = param("skip_first", false, "leave the first layer out of goodness-based predictions");
    std::int64_t grow_width =
        param("grow_width", 0, "supervised growth: add layers of this width while validation accuracy improves (0: off)")
            .at_least(0);
    double grow_margin =
        param("grow_margin", 0.01, "a grown layer is kept only if validation accuracy improves by more than this")
            .at_least(0);
    std::int64_t grow_max_layers = param("grow_max_layers", 8, "growth stops at this many layers").at_least(1);
    Schedule schedule = param("schedule", Schedule::Greedy,
                              "greedy: each layer trained for its epochs, then the next; simultaneous: every minibatch "
                              "trains every layer, each with its own local loss on the (detached) output of the one "
                              "below");
    Goodness goodness = param("goodness", Goodness::Mean,
                              "mean: mean of squared activities against theta; sum: their sum against theta x width");
    InputNorm input_norm = param("input_norm", InputNorm::Unit,
                                 "each layer's input is divided by its length (unit) or by its root mean square (rms = "
                                 "unit x sqrt(width))");
    double peer_norm = param("peer_norm", 0.0,
                             "weight of the peer normalisation loss (running mean activity of each unit pulled to the "
                             "layer's mean; 0.03 in the public PyTorch reimplementation)")
                           .at_least(0);
    double peer_momentum = param("peer_momentum", 0.9, "momentum of the running mean activity").in_range(0, 1);
    ReluGrad relu_grad = param("relu_grad", ReluGrad::Masked,
                               "full: the ReLU passes gradients where it is off too (lets peer normalisation revive "
                               "dead units)");
    hebbkit::OptimizerParams optimizer{hebbkit::OptimizerDefaults().lr(0.03).momentum(0.9)};
    bool lr_cooldown =
        param("lr_cooldown", false, "decay the learning rate linearly to 0 over the second half of the epochs");
    Init init = param("init", Init::Torch,
                      "initial weights: torch's Linear default, or normal(0, 1/sqrt(width)) with zero bias");
    std::int64_t val_every =
        param("val_every", 0, "simultaneous: goodness-based validation accuracy every this many epochs (0: at the end)")
            .at_least(0);
    HeadInput head_input = param("head_input", HeadInput::Image,
                                 "what the stack sees when it feeds a head (forward): the image as given, or with the "
                                 "neutral label (1/classes in every label position) over its first pixels, as the "
                                 "public reimplementation's linear classifier does (supervised mode)");
    OutputNorm output_norm = param("output_norm", OutputNorm::None,
                                   "each layer's activities as a head gets them: as they are, or divided by their root "
                                   "mean square (the reimplementation's classifier input); goodness predictions always "
                                   "use them as they are");
  };

  ForwardForward(const Config& config, const hebbkit::Params& p) : c_(config) {
    objective_.theta = c_.theta;
    objective_.sum_goodness = c_.goodness == Goodness::Sum;
    objective_.peer_weight = c_.peer_norm;
    objective_.peer_momentum = c_.peer_momentum;
    objective_.full_relu_grad = c_.relu_grad == ReluGrad::Full;
    if (simultaneous() && c_.grow_width > 0)
      p.fail("grow_width", "growth adds layers one after another: it needs schedule: greedy");
    if (c_.sizes.empty()) p.fail("sizes", "needs at least one layer width");
    if (c_.output == Output::SkipFirst && c_.sizes.size() < 2 && c_.grow_width == 0)
      p.fail("output", "output: skip_first needs at least two layers (sizes has one); use output: all");
    if (c_.grow_width > 0 && !supervised())
      p.fail("grow_width", "growth judges layers by goodness-based validation accuracy: it needs mode: supervised");
    if (neutral_input() && !supervised())
      p.fail("head_input", "neutral_label overlays a label: it needs mode: supervised");
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    if (!supervised() && source.sample_shape().size() != 3)
      throw hebbkit::RecipeError(fmt::format(
          "forward_forward (unsupervised) builds hybrid negatives from images: the inputs must be (N, C, H, W), "
          "got rows of {} — leave 'flatten' out of dataset.preprocess", fmt::join(source.sample_shape(), "x")));
    num_classes_ = data.num_classes;
    const auto needs = *plan(source.sample_shape());  // for data sets whose shape validate did not know
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.sizes", data.index), needs.what);
    // Negatives are drawn from the whole set every epoch, so the rule holds it.
    images_ = source.all();
    labels_ = source.labels();
    layers_.clear();
    next_layer_ = 0;
    std::optional<Continue> resume;
    std::optional<hebbkit::TrainingCheckpoint> point = ctx.resume_point();
    if (point && !simultaneous()) resume = restore_checkpoint(*point);
    together_resume_ = simultaneous() ? std::move(point) : std::nullopt;
    // Positive data in the first layer's space; its outputs are cached layer by layer.
    torch::Tensor positive = supervised() ? hebbkit::overlay_label(images_, labels_, num_classes_) : images_.flatten(1);
    if (simultaneous()) {
      if (resume) throw hebbkit::DataError("forward_forward: internal: a greedy checkpoint in simultaneous training");
      train_together(positive, data, ctx);
    } else {
      for (const auto width : c_.sizes) positive = add_and_train(positive, width, ctx, resume);
    }

    if (c_.grow_width > 0) {
      if (data.val == nullptr)
        throw hebbkit::RecipeError("forward_forward: grow_width needs a validation split (dataset.validation)");
      const auto val_images = data.val->all();
      double best = accuracy_of(val_images, data.val->labels());
      ctx.metric("val_accuracy_by_depth", best, static_cast<std::int64_t>(layers_.size()));
      while (static_cast<std::int64_t>(layers_.size()) < c_.grow_max_layers) {
        const auto next = add_and_train(positive, c_.grow_width, ctx, resume);
        const double acc = accuracy_of(val_images, data.val->labels());
        ctx.metric("val_accuracy_by_depth", acc, static_cast<std::int64_t>(layers_.size()));
        if (acc - best <= c_.grow_margin) {
          ctx.info("growth: layer {} brought validation accuracy {:.2f}% -> {:.2f}%, not more than {:.2f} points; removed",
                   layers_.size(), 100 * best, 100 * acc, 100 * c_.grow_margin);
          layers_.pop_back();
          break;
        }
        ctx.info("growth: layer {} kept, validation accuracy {:.2f}% -> {:.2f}%", layers_.size(), 100 * best, 100 * acc);
        best = acc;
        positive = next;
      }
    }
    if (supervised() && data.val != nullptr)
      ctx.info("goodness-based validation accuracy with {} layers: {:.2f}%", layers_.size(),
               100 * accuracy_of(data.val->all(), data.val->labels()));
    images_ = labels_ = torch::Tensor();  // not needed after training
  }

  // Weights, gradients and Adam's two moments of every layer, in float. Growth adds
  // layers the plan cannot know, so the output shape is unknown then.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    std::int64_t below = 1;
    for (const auto d : input_shape) below *= d;
    double floats = 0;
    for (const auto width : c_.sizes) floats += 4.0 * static_cast<double>(width) * static_cast<double>(below + 1), below = width;
    std::int64_t out = 0;
    for (std::size_t i = 0; i < c_.sizes.size(); ++i)
      if (c_.output == Output::All || (c_.output == Output::SkipFirst && (i > 0 || c_.sizes.size() == 1)) ||
          (c_.output == Output::Last && i + 1 == c_.sizes.size()))
        out += c_.sizes[i];
    return hebbkit::LayerPlan{c_.grow_width > 0 ? std::vector<std::int64_t>{} : std::vector<std::int64_t>{out}, 4 * floats,
                              "sizes", fmt::format("forward_forward layers of widths [{}]", fmt::join(c_.sizes, ", "))};
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    if (!neutral_input()) return output_of(activations(x));
    if (num_classes_ < 1)
      throw hebbkit::DataError("forward_forward: head_input: neutral_label needs the number of classes, which this "
                               "saved model does not hold (it was saved without head_input: neutral_label)");
    return output_of(activations(hebbkit::overlay_neutral_label(x, num_classes_)));
  }

  hebbkit::LayerOutput forward_with_activations(const torch::Tensor& x) override {
    auto acts = activations(x);
    auto output = output_of(acts);
    return {std::move(output), std::move(acts)};
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      out.emplace_back(fmt::format("ff{}_weight", i), layers_[i].linear->weight);
      out.emplace_back(fmt::format("ff{}_bias", i), layers_[i].linear->bias);
    }
    // forward() needs it after a reload to build the neutral overlay.
    if (neutral_input()) out.emplace_back("label_classes", torch::full({1}, num_classes_, torch::kLong));
    return out;
  }

  // The number of layers follows from the state (growth may have added some).
  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    layers_.clear();
    rebuild_layers(state);
    if (layers_.empty()) throw hebbkit::DataError("forward_forward: the saved state holds no layer");
    for (const auto& [name, tensor] : state)
      if (name == "label_classes") num_classes_ = tensor.to(torch::kCPU).item<std::int64_t>();
  }

  // The first layer's product is shared between labels (ff::first_layer_overlaid).
  void forward_overlaid(const torch::Tensor& x, std::int64_t num_classes,
                        const std::function<void(std::int64_t, hebbkit::OverlaidOutput)>& each) override {
    hebbkit::ff::first_layer_overlaid(
        layers_.front().linear, x.flatten(1), num_classes,
        [&](std::int64_t label, hebbkit::ff::Activity bottom) {
          std::vector<hebbkit::ff::Activity> layers{std::move(bottom)};
          for (std::size_t i = 1; i < layers_.size(); ++i)
            layers.push_back(hebbkit::ff::activity(layers_[i].linear, layers.back(), input_scale(i)));
          hebbkit::OverlaidOutput out;
          for (auto& a : layers) {
            out.layer.activations.push_back(std::move(a.value));
            out.squared_norms.push_back(std::move(a.squared_norm));
          }
          out.layer.output = output_of(out.layer.activations);
          each(label, std::move(out));
        },
        input_scale(0));
  }

  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (auto& layer : layers_)
      for (auto& p : layer.linear->parameters()) out.push_back(p);
    return out;
  }

 private:
  struct Layer {
    torch::nn::Linear linear{nullptr};
  };

  // The activity of every layer for x, bottom first.
  std::vector<torch::Tensor> activations(const torch::Tensor& x) {
    std::vector<torch::Tensor> out;
    torch::Tensor h = x.flatten(1);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      h = layer_output(i, h);
      out.push_back(h);
    }
    return out;
  }

  // What forward() gives a head, chosen by `output`.
  torch::Tensor output_of(std::vector<torch::Tensor> acts) const {
    if (c_.output == Output::Last) acts.erase(acts.begin(), acts.end() - 1);
    if (c_.output == Output::SkipFirst && acts.size() > 1) acts.erase(acts.begin());
    if ((c_.output_norm == OutputNorm::Rms))
      for (auto& a : acts) a = a / (a.pow(2).mean(1, /*keepdim=*/true).sqrt() + 1e-8);
    return acts.size() == 1 ? acts.front() : torch::cat(acts, 1);
  }

  // Negative data for the first layer, fresh every epoch.
  torch::Tensor negatives() const {
    if (supervised()) return hebbkit::overlay_label(images_, hebbkit::ff::wrong_labels(labels_, num_classes_), num_classes_);
    return hebbkit::ff::hybrid_negatives(images_).flatten(1);
  }

  // One layer: it sees only the direction of its input.
  torch::Tensor layer_output(std::size_t index, const torch::Tensor& x) {
    const double scale = input_scale(index);
    return torch::relu(layers_[index].linear->forward(scale == 1.0 ? direction(x) : direction(x) * scale));
  }

  // What a layer's normalised input is multiplied by: 1 (unit length) or sqrt(width) (RMS 1).
  double input_scale(std::size_t index) const {
    return (c_.input_norm == InputNorm::Rms) ? std::sqrt(static_cast<double>(layers_[index].linear->weight.size(1))) : 1.0;
  }

  hebbkit::ff::LayerObjective objective_for(std::size_t index) const {
    auto objective = objective_;
    objective.input_scale = input_scale(index);
    return objective;
  }

  Layer new_layer(std::int64_t inputs, std::int64_t width, torch::Device device) const {
    Layer layer;
    layer.linear = torch::nn::Linear(inputs, width);
    if ((c_.init == Init::Normal)) {
      torch::NoGradGuard no_grad;
      layer.linear->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(width)));
      layer.linear->bias.zero_();
    }
    layer.linear->to(device);
    return layer;
  }

  std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Linear& linear) const {
    return hebbkit::make_optimizer(linear->parameters(), c_.optimizer);
  }

  // The optimizer's schedule, then optionally the public reimplementation's cooldown: linearly
  // to 0 over the second half.
  double lr_at(std::int64_t epoch) const {
    const double lr = c_.optimizer.lr_at(epoch);
    if (!c_.lr_cooldown || epoch <= c_.epochs / 2) return lr;
    return lr * 2.0 * static_cast<double>(1 + c_.epochs - epoch) / static_cast<double>(c_.epochs);
  }

  // One trained layer applied to x in batches, without a graph.
  torch::Tensor apply_layer(const torch::Tensor& x, std::size_t index) {
    return hebbkit::apply_batched([&](const torch::Tensor& b) { return layer_output(index, b); }, x, 4096);
  }

  // The frozen layers [0, count) applied to x.
  torch::Tensor through(torch::Tensor x, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) x = apply_layer(x, i);
    return x;
  }

  // Where training continues after a checkpoint: layer `layer` (already restored) after
  // `epochs` of its epochs, with its optimizer's state.
  struct Continue {
    std::size_t layer = 0;
    std::int64_t epochs = 0;
    torch::Tensor optimizer;
  };

  // Appends the layers state() wrote: ff<i>_weight / ff<i>_bias for i = 0, 1, ...
  void rebuild_layers(const std::vector<hebbkit::NamedTensor>& state) {
    torch::NoGradGuard no_grad;
    const auto holds = [&](const std::string& name) {
      return std::any_of(state.begin(), state.end(), [&](const hebbkit::NamedTensor& t) { return t.first == name; });
    };
    for (std::size_t i = 0; holds(fmt::format("ff{}_weight", i)); ++i) {
      const auto& weight = hebbkit::find_state(state, fmt::format("ff{}_weight", i));
      const auto& bias = hebbkit::find_state(state, fmt::format("ff{}_bias", i));
      if (weight.dim() != 2 || bias.dim() != 1 || bias.size(0) != weight.size(0) ||
          (i > 0 && weight.size(1) != layers_.back().linear->weight.size(0)))
        throw hebbkit::DataError(fmt::format("forward_forward layer {}: weight {} and bias {} do not fit the stack", i,
                                             fmt::join(weight.sizes(), "x"), fmt::join(bias.sizes(), "x")));
      Layer layer;
      layer.linear = torch::nn::Linear(weight.size(1), weight.size(0));
      layer.linear->to(weight.device());
      layer.linear->weight.copy_(weight);
      layer.linear->bias.copy_(bias);
      layers_.push_back(layer);
    }
  }

  // A checkpoint holds the layers trained so far, the last one part-way, and its optimizer;
  // epochs_done counts epochs over the whole stack (`epochs` per layer).
  Continue restore_checkpoint(const hebbkit::TrainingCheckpoint& point) {
    {
      hebbkit::GeneratorGuard keep;  // building the modules must not use up random numbers
      rebuild_layers(point.tensors);
    }
    if (layers_.empty() || point.epochs_done < 1)
      throw hebbkit::DataError("forward_forward: the checkpoint holds no layer in training");
    const std::size_t layer = layers_.size() - 1;
    return {layer, point.epochs_done - static_cast<std::int64_t>(layer) * c_.epochs,
            hebbkit::find_state(point.tensors, "optimizer")};
  }

  // Adds a layer of `width` on top (or takes the one a checkpoint restored), trains it on
  // `positive` (the cached outputs of the layers below for positive data) and returns its
  // own outputs for the next layer.
  torch::Tensor add_and_train(const torch::Tensor& positive, std::int64_t width, hebbkit::RunContext& ctx,
                              std::optional<Continue>& resume) {
    std::size_t index = layers_.size();
    std::int64_t first_epoch = 0;
    torch::Tensor optimizer_bytes;
    if (resume) {
      // The checkpoint restored layers [0, resume->layer]; those below it are trained.
      index = next_layer_;
      if (index < resume->layer) {
        ++next_layer_;
        return apply_layer(positive, index);
      }
      first_epoch = resume->epochs;
      optimizer_bytes = resume->optimizer;
      resume.reset();
    } else {
      layers_.push_back(new_layer(positive.size(1), width, ctx.device()));
    }
    next_layer_ = index + 1;
    auto& linear = layers_[index].linear;
    const auto optimizer_owner = make_optimizer(linear);
    auto& optimizer = *optimizer_owner;
    if (optimizer_bytes.defined()) hebbkit::load_optimizer_state(optimizer, optimizer_bytes);
    const auto objective = objective_for(index);
    auto running_mean = torch::full({width}, 0.5, linear->weight.options());
    const std::int64_t n = positive.size(0), batch = c_.batch > 0 ? c_.batch : n;
    hebbkit::EpochLoop loop{fmt::format("ff layer {} ({} -> {})", index, positive.size(1), width), c_.epochs,
                            first_epoch};
    loop.lr_at = [this](std::int64_t epoch) { return lr_at(epoch); };
    loop.optimizers = {&optimizer};
    // Grown layers are not checkpointed: growth decides on validation scores kept in fit().
    if (index < c_.sizes.size()) {
      loop.checkpoint_base = static_cast<std::int64_t>(index) * c_.epochs;
      loop.checkpoint = [&] {
        auto state = this->state();
        state.emplace_back("optimizer", hebbkit::optimizer_state(optimizer));
        return state;
      };
    }
    torch::Tensor batch_rows;  // reused: [positives; negatives] of each minibatch
    loop.epoch_step = [&](std::int64_t epoch, hebbkit::Progress&) {
      const auto negative = through(negatives(), index);
      hebbkit::Meter loss;
      double pos_sum = 0, neg_sum = 0;
      for (const auto& idx : hebbkit::minibatches(n, batch, batch < n, ctx.device())) {
        hebbkit::ff::gather_batch(positive, negative, idx, batch_rows);
        const auto step = hebbkit::ff::train_step(linear, optimizer, batch_rows, idx.size(0), objective, &running_mean);
        loss.add(step.loss, static_cast<double>(idx.size(0)));
        pos_sum += step.goodness_pos;
        neg_sum += step.goodness_neg;
      }
      const std::int64_t step = static_cast<std::int64_t>(index);
      ctx.metric(fmt::format("layer{}_loss", index), loss.mean(), epoch, step);
      ctx.metric(fmt::format("layer{}_goodness_pos", index), pos_sum / n, epoch, step);
      ctx.metric(fmt::format("layer{}_goodness_neg", index), neg_sum / n, epoch, step);
      return hebbkit::EpochResult{"loss", loss.mean(), fmt::format("forward_forward layer {} loss", index)};
    };
    hebbkit::run_epochs(loop, ctx);
    return apply_layer(positive, index);
  }

  // Every minibatch trains every layer (the public reimplementation's schedule): the batch's
  // [positives; negatives] go up the stack, and each layer takes its step on what the layer
  // below gave before that layer's own step, with its own loss, optimizer and running means.
  void train_together(const torch::Tensor& positive, const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) {
    const std::size_t count = c_.sizes.size();
    std::int64_t first_epoch = 0;
    std::optional<hebbkit::TrainingCheckpoint> resume = std::move(together_resume_);
    together_resume_.reset();
    if (resume) {
      {
        hebbkit::GeneratorGuard keep;  // building the modules must not use up random numbers
        rebuild_layers(resume->tensors);
      }
      if (layers_.size() != count)
        throw hebbkit::DataError(fmt::format("forward_forward: the checkpoint holds {} layers, sizes has {}",
                                             layers_.size(), count));
      first_epoch = resume->epochs_done;
    } else {
      std::int64_t below = positive.size(1);
      for (const auto width : c_.sizes) layers_.push_back(new_layer(below, width, ctx.device())), below = width;
    }
    std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers;
    std::vector<torch::Tensor> running;
    for (std::size_t i = 0; i < count; ++i) {
      optimizers.push_back(make_optimizer(layers_[i].linear));
      if (resume) {
        hebbkit::load_optimizer_state(*optimizers[i], hebbkit::find_state(resume->tensors, fmt::format("optimizer{}", i)));
        running.push_back(hebbkit::find_state(resume->tensors, fmt::format("peer{}", i)).to(ctx.device()).clone());
      } else {
        running.push_back(torch::full({c_.sizes[i]}, 0.5, layers_[i].linear->weight.options()));
      }
    }
    const std::int64_t n = positive.size(0), batch = c_.batch > 0 ? c_.batch : n;
    hebbkit::EpochLoop loop{fmt::format("ff {} layers together", count), c_.epochs, first_epoch};
    loop.lr_at = [this](std::int64_t epoch) { return lr_at(epoch); };
    for (auto& optimizer : optimizers) loop.optimizers.push_back(optimizer.get());
    loop.checkpoint = [&] {
      auto state = this->state();
      for (std::size_t i = 0; i < count; ++i) {
        state.emplace_back(fmt::format("optimizer{}", i), hebbkit::optimizer_state(*optimizers[i]));
        state.emplace_back(fmt::format("peer{}", i), running[i]);
      }
      return state;
    };
    torch::Tensor batch_rows;
    loop.epoch_step = [&](std::int64_t epoch, hebbkit::Progress&) {
      const auto negative = negatives();
      std::vector<double> loss(count), pos(count), neg(count), peer(count);
      std::int64_t steps = 0;
      for (const auto& idx : hebbkit::minibatches(n, batch, batch < n, ctx.device())) {
        hebbkit::ff::gather_batch(positive, negative, idx, batch_rows);
        torch::Tensor x = batch_rows;
        for (std::size_t i = 0; i < count; ++i) {
          torch::Tensor above;
          const auto step = hebbkit::ff::train_step(layers_[i].linear, *optimizers[i], x, idx.size(0), objective_for(i),
                                                    &running[i], i + 1 < count ? &above : nullptr);
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
        hebbkit::check_finite(layer_loss, fmt::format("forward_forward layer {} loss at epoch {}", i, epoch));
        total += layer_loss;
        ctx.metric(fmt::format("layer{}_loss", i), layer_loss, epoch);
        ctx.metric(fmt::format("layer{}_goodness_pos", i), pos[i] / static_cast<double>(n), epoch);
        ctx.metric(fmt::format("layer{}_goodness_neg", i), neg[i] / static_cast<double>(n), epoch);
        if (objective_.peer_weight > 0) ctx.metric(fmt::format("layer{}_peer_loss", i), peer[i] / static_cast<double>(steps), epoch);
      }
      ctx.metric("lr", lr_at(epoch), epoch);
      if (c_.val_every > 0 && supervised() && data.val != nullptr && (epoch + 1) % c_.val_every == 0)
        ctx.metric("val_accuracy", accuracy_of(data.val->all(), data.val->labels()), epoch);
      return hebbkit::EpochResult{"loss", total};
    };
    hebbkit::run_epochs(loop, ctx);
  }

  // Goodness-based prediction: the label whose overlay makes the stack's goodness largest.
  double accuracy_of(const torch::Tensor& images, const torch::Tensor& labels) {
    const std::vector<hebbkit::Rule*> stack{this};
    const auto scores = hebbkit::apply_batched(
        [&](const torch::Tensor& x) { return hebbkit::goodness_scores(stack, x, num_classes_, c_.skip_first ? 1 : 0); },
        images, 1000);
    return hebbkit::accuracy(scores, labels);
  }

  bool supervised() const { return c_.mode == Mode::Supervised; }
  bool simultaneous() const { return c_.schedule == Schedule::Simultaneous; }
  bool neutral_input() const { return c_.head_input == HeadInput::NeutralLabel; }

  Config c_;
  hebbkit::ff::LayerObjective objective_;
  std::optional<hebbkit::TrainingCheckpoint> together_resume_;
  std::vector<Layer> layers_;
  std::size_t next_layer_ = 0;  // the layer add_and_train handles next in this fit()
  std::int64_t num_classes_ = 0;
  torch::Tensor images_, labels_;
};

}  // namespace

HEBBKIT_PLUGIN(ForwardForward)
