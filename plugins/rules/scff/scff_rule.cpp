// Self-Contrastive Forward-Forward (Chen, Liu, Laydevant, Grollier, Nature Communications
// 16:5978, 2025): Forward-Forward without labels, whose positive and negative data come from
// the batch itself — an image beside a view of itself is positive, beside another image
// negative. The rule composes the parts: pairs (scff_pairs), the layers and their objective
// (scff_layer) and greedy training (scff_training); it adds the recipe's keys, what a head
// reads (every layer's activity standardised, as the paper's linear readout) and the figure.
#include <hebbkit/hebbkit.hpp>
#include <hebbkit/initial_weights.hpp>
#include <torch/types.h>

#include "krotov_training.hpp"
#include "scff_training.hpp"

namespace {

using hebbkit::param;
using hebbkit::scff::Activation;

enum class Init { Torch, Npy };
hebbkit::Choices<Init> param_choices(Init) { return {{Init::Torch, "torch"}, {Init::Npy, "npy"}}; }
enum class Output { All, Last };
hebbkit::Choices<Output> param_choices(Output) { return {{Output::All, "all"}, {Output::Last, "last"}}; }

}  // namespace

namespace hebbkit::scff {
hebbkit::Choices<Activation> param_choices(Activation) {
  return {{Activation::Relu, "relu"}, {Activation::Triangle, "triangle"}};
}
}  // namespace hebbkit::scff

namespace {

class Scff final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "scff";
  static constexpr const char* summary =
      "Self-Contrastive Forward-Forward (Nat. Commun. 2025): unsupervised FF with pairs of images as positives and "
      "negatives";
  // Per-layer keys take one value for every layer or one per layer; the defaults are the
  // authors' MNIST configuration (config.json).
  struct Config {
    std::vector<std::int64_t> sizes = param("sizes", std::vector<std::int64_t>{2000, 2000},
                                            "widths of the layers, trained one after another; the first reads a pair "
                                            "of images through one set of weights")
                                            .at_least(1);
    hebbkit::scff::TrainingKeys training{{{20, 9}, 100, {0.003, 0.002}, {0.9, 0.6}, {1000, 1500}, {1e-4}, {4, 1},
                                          {6, 1}, {1e-4, 0}}};
    Activation activation = param("activation", Activation::Triangle,
                                  "what a layer passes up: relu(z), or triangle relu(z - mean z)");
    std::int64_t shift = param("shift", 2,
                               "the two views of a positive are the image moved by up to this many pixels each way "
                               "(independently); 0: the image itself twice")
                             .at_least(0);
    bool standardize_input =
        param("standardize_input", true, "standardise each image (mean 0, std 1) before pairing, as the authors");
    Output output = param("output", Output::All,
                          "what a head reads: every layer's activity standardised and concatenated (the paper's "
                          "readout), or the last layer's");
    Init init = param("init", Init::Torch, "initial weights: torch's Linear default (the authors'), or npy (init_prefix)");
    std::string init_prefix = param("init_prefix", "",
                                    "init: npy reads PREFIX_scff<i>_weight.npy and PREFIX_scff<i>_bias.npy for layer i, "
                                    "as a run's model/ holds them (PREFIX runs/X/model/layer0)");
    std::int64_t figure_units =
        param("figure_units", 100, "first-layer units drawn in the weight grid").at_least(1).readout();
  };

  Scff(const Config& config, const hebbkit::Params& p) : c_(config), stack_(c_.activation) {
    if (c_.sizes.empty()) p.fail("sizes", "needs at least one layer width");
    layers_ = c_.training.per_layer(c_.sizes.size(), p);
    hebbkit::check_init_prefix(p, c_.init == Init::Npy, c_.init_prefix);
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    if (c_.shift > 0 && source.sample_shape().size() != 3)
      throw hebbkit::RecipeError(fmt::format(
          "layers.{}.rule.shift = {}: scff translates images, so its inputs must be (C, H, W), got rows of {} — leave "
          "'flatten' out of dataset.preprocess, or set shift: 0",
          data.index, c_.shift, fmt::join(source.sample_shape(), "x")));
    const auto needs = *plan(source.sample_shape());
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.sizes", data.index), needs.what);
    stack_ = hebbkit::scff::Stack(c_.activation);
    stack_.start_from(c_.init_prefix);
    std::int64_t values = 1;
    for (const auto d : source.sample_shape()) values *= d;
    stack_.plan(values, c_.sizes);
    const auto images = source.all().to(torch::kFloat32);
    hebbkit::scff::train_greedy(stack_, layers_, images, c_.training.batch, {c_.shift, c_.standardize_input}, ctx,
                                ctx.resume_point());
  }

  // Weights, gradients and AdamW's two moments of every layer, and one batch's activities.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    std::int64_t below = 1;
    for (const auto d : input_shape) below *= d;
    double floats = 0;
    for (const auto width : c_.sizes) floats += 4.0 * static_cast<double>(width) * static_cast<double>(below + 1), below = width;
    std::int64_t out = c_.output == Output::Last ? c_.sizes.back() : 0;
    if (c_.output == Output::All)
      for (const auto width : c_.sizes) out += width;
    return hebbkit::LayerPlan{{out}, 4 * floats, "sizes",
                              fmt::format("scff layers of widths [{}]", fmt::join(c_.sizes, ", "))};
  }

  torch::Tensor forward(const torch::Tensor& x) override { return forward_with_activations(x).output; }

  hebbkit::LayerOutput forward_with_activations(const torch::Tensor& x) override {
    auto rows = x.flatten(1);
    if (c_.standardize_input) rows = hebbkit::scff::standardize(rows);
    auto features = stack_.features(rows);
    auto output = c_.output == Output::Last ? features.back() : torch::cat(features, 1);
    return {std::move(output), std::move(features)};
  }

  // Each process its rows of the global minibatch's pairs (drawn from the shared seed);
  // gradients and the metrics' sums all-reduced.
  std::string why_not_data_parallel() const override { return ""; }

  std::vector<hebbkit::NamedTensor> state() const override { return stack_.state(); }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    stack_ = hebbkit::scff::Stack(c_.activation);
    stack_.append_from(state);
    if (stack_.size() != c_.sizes.size())
      throw hebbkit::DataError(fmt::format("scff: the saved state holds {} layers; the recipe's sizes has {}",
                                           stack_.size(), c_.sizes.size()));
  }

  std::vector<torch::Tensor> parameters() override { return stack_.parameters(); }

  // The first layer's units as images, when the inputs were images of one or three channels.
  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& image_shape) override {
    if (stack_.empty() || image_shape.size() != 3) return;
    const auto& w = stack_.layer(0)->weight;
    std::int64_t values = 1;
    for (const auto d : image_shape) values *= d;
    if (w.size(1) != values || (image_shape[0] != 1 && image_shape[0] != 3)) return;
    hebbkit::krotov::draw_units(ctx, w.detach().view({w.size(0), image_shape[0], image_shape[1], image_shape[2]}),
                                c_.figure_units, "scff_units.png");
  }

 private:
  Config c_;
  std::vector<hebbkit::scff::LayerTraining> layers_;
  hebbkit::scff::Stack stack_;
};

}  // namespace

HEBBKIT_PLUGIN(Scff)
