// Forward-Forward (Hinton 2022): a stack of Linear + ReLU layers, each trained with its own
// optimizer to give high goodness to positive data and low goodness to negative data. The
// rule composes the parts: the negatives (ff_negatives: wrong labels, or hybrid images), the
// layer objective (ff_objective: goodness, peer normalisation, the step), the stack
// (ff_stack) and the schedule (ff_schedule: greedy, growth, simultaneous); it adds the
// recipe's keys, what a head reads (forward) and goodness scoring (OverlaidLayer).
#include <hebbkit/goodness.hpp>
#include <hebbkit/initial_weights.hpp>
#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

#include "ff_schedule.hpp"

namespace {

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
enum class Init { Torch, Normal, Npy };
hebbkit::Choices<Init> param_choices(Init) {
  return {{Init::Torch, "torch"}, {Init::Normal, "normal"}, {Init::Npy, "npy"}};
}
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
        param("sizes", std::vector<std::int64_t>{500, 500},
              "widths of the layers, trained bottom-up, each with its own optimizer (optimizer, lr, ...)")
            .at_least(1);
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
                      "initial weights: torch's Linear default, normal(0, 1/sqrt(width)) with zero bias, or npy "
                      "(init_prefix)");
    std::string init_prefix = param("init_prefix", "",
                                    "init: npy reads PREFIX_ff<i>_weight.npy and PREFIX_ff<i>_bias.npy for layer i, as "
                                    "a run's model/ holds them (PREFIX runs/X/model/layer0)");
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

  ForwardForward(const Config& config, const hebbkit::Params& p)
      : c_(config), stack_(c_.input_norm == InputNorm::Rms, c_.init == Init::Normal) {
    training_.epochs = c_.epochs;
    training_.batch = c_.batch;
    training_.optimizer = c_.optimizer;
    training_.lr_cooldown = c_.lr_cooldown;
    training_.objective.theta = c_.theta;
    training_.objective.sum_goodness = c_.goodness == Goodness::Sum;
    training_.objective.peer_weight = c_.peer_norm;
    training_.objective.peer_momentum = c_.peer_momentum;
    training_.objective.full_relu_grad = c_.relu_grad == ReluGrad::Full;
    if (simultaneous() && c_.grow_width > 0)
      p.fail("grow_width", "growth adds layers one after another: it needs schedule: greedy");
    if (c_.sizes.empty()) p.fail("sizes", "needs at least one layer width");
    hebbkit::check_init_prefix(p, c_.init == Init::Npy, c_.init_prefix);
    stack_.start_from(c_.init_prefix);
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
    // Negatives are drawn from the whole set every epoch.
    const auto negatives = supervised()
                               ? hebbkit::ff::wrong_label_negatives(source.all(), source.labels(), num_classes_)
                               : hebbkit::ff::hybrid_image_negatives(source.all());
    stack_.clear();
    const auto resume = ctx.resume_point();
    // Positive data in the first layer's space; its outputs are cached layer by layer.
    torch::Tensor positive = negatives->positives();
    const auto val_accuracy = [&] { return accuracy_of(data.val->all(), data.val->labels()); };
    if (simultaneous()) {
      hebbkit::ff::train_simultaneous(stack_, c_.sizes, positive, training_, *negatives, ctx, resume,
                                      [&](std::int64_t epoch) {
                                        if (c_.val_every > 0 && supervised() && data.val != nullptr &&
                                            (epoch + 1) % c_.val_every == 0)
                                          ctx.metric("val_accuracy", val_accuracy(), epoch);
                                      });
    } else {
      hebbkit::ff::Greedy greedy(stack_, training_, *negatives, ctx, resume);
      for (const auto width : c_.sizes) positive = greedy.add_and_train(positive, width, /*checkpointed=*/true);
      if (c_.grow_width > 0) {
        if (data.val == nullptr)
          throw hebbkit::RecipeError("forward_forward: grow_width needs a validation split (dataset.validation)");
        hebbkit::ff::grow(greedy, stack_, positive, c_.grow_width, c_.grow_max_layers, c_.grow_margin, val_accuracy,
                          ctx);
      }
    }
    if (supervised() && data.val != nullptr)
      ctx.info("goodness-based validation accuracy with {} layers: {:.2f}%", stack_.size(), 100 * val_accuracy());
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
    if (!neutral_input()) return output_of(stack_.activations(x));
    if (num_classes_ < 1)
      throw hebbkit::DataError("forward_forward: head_input: neutral_label needs the number of classes, which this "
                               "saved model does not hold (it was saved without head_input: neutral_label)");
    return output_of(stack_.activations(hebbkit::overlay_neutral_label(x, num_classes_)));
  }

  hebbkit::LayerOutput forward_with_activations(const torch::Tensor& x) override {
    auto acts = stack_.activations(x);
    auto output = output_of(acts);
    return {std::move(output), std::move(acts)};
  }

  // Each process its shard of every minibatch; negatives are drawn for the whole set from
  // the shared seed; gradients, the peer-normalisation mean and the metrics are all-reduced.
  std::string why_not_data_parallel() const override { return ""; }

  std::vector<hebbkit::NamedTensor> state() const override {
    auto out = stack_.state();
    // forward() needs it after a reload to build the neutral overlay.
    if (neutral_input()) out.emplace_back("label_classes", torch::full({1}, num_classes_, torch::kLong));
    return out;
  }

  // The number of layers follows from the state (growth may have added some).
  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    stack_.clear();
    stack_.append_from(state);
    if (stack_.empty()) throw hebbkit::DataError("forward_forward: the saved state holds no layer");
    for (const auto& [name, tensor] : state)
      if (name == "label_classes") num_classes_ = tensor.to(torch::kCPU).item<std::int64_t>();
  }

  // The first layer's product is shared between labels (ff::first_layer_overlaid).
  void forward_overlaid(const torch::Tensor& x, std::int64_t num_classes,
                        const std::function<void(std::int64_t, hebbkit::OverlaidOutput)>& each) override {
    hebbkit::ff::first_layer_overlaid(
        stack_.layer(0), x.flatten(1), num_classes,
        [&](std::int64_t label, hebbkit::ff::Activity bottom) {
          std::vector<hebbkit::ff::Activity> layers{std::move(bottom)};
          for (std::size_t i = 1; i < stack_.size(); ++i)
            layers.push_back(hebbkit::ff::activity(stack_.layer(i), layers.back(), stack_.input_scale(i)));
          hebbkit::OverlaidOutput out;
          for (auto& a : layers) {
            out.layer.activations.push_back(std::move(a.value));
            out.squared_norms.push_back(std::move(a.squared_norm));
          }
          out.layer.output = output_of(out.layer.activations);
          each(label, std::move(out));
        },
        stack_.input_scale(0));
  }

  std::vector<torch::Tensor> parameters() override { return stack_.parameters(); }

 private:
  // What forward() gives a head, chosen by `output`.
  torch::Tensor output_of(std::vector<torch::Tensor> acts) const {
    if (c_.output == Output::Last) acts.erase(acts.begin(), acts.end() - 1);
    if (c_.output == Output::SkipFirst && acts.size() > 1) acts.erase(acts.begin());
    if (c_.output_norm == OutputNorm::Rms)
      for (auto& a : acts) a = a / (a.pow(2).mean(1, /*keepdim=*/true).sqrt() + 1e-8);
    return acts.size() == 1 ? acts.front() : torch::cat(acts, 1);
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
  hebbkit::ff::Training training_;
  hebbkit::ff::Stack stack_;
  std::int64_t num_classes_ = 0;
};

}  // namespace

HEBBKIT_PLUGIN(ForwardForward)
