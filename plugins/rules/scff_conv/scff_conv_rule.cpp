// Self-Contrastive Forward-Forward on images through conv layers (Chen, Liu, Laydevant,
// Grollier, Nature Communications 16:5978, 2025; the authors' ContrastFF_CIFAR.py): the
// pairs, objective and greedy training of ../scff with the authors' conv layers
// (scff_conv.hpp). Defaults: their CIFAR-10 configuration (config.json), a three-layer
// network the shape of SoftHebb's, each layer's output pooled 2x2 and standardised for the
// linear readout.
#include <algorithm>

#include <hebbkit/hebbkit.hpp>
#include <hebbkit/initial_weights.hpp>
#include <hebbkit/one_or_each.hpp>
#include <torch/types.h>

#include "krotov_training.hpp"
#include "scff_conv.hpp"
#include "scff_training.hpp"

namespace {

using hebbkit::param;

enum class Init { Xavier, Npy };
hebbkit::Choices<Init> param_choices(Init) { return {{Init::Xavier, "xavier"}, {Init::Npy, "npy"}}; }
enum class Output { All, Last };
hebbkit::Choices<Output> param_choices(Output) { return {{Output::All, "all"}, {Output::Last, "last"}}; }
enum class Padding { Reflect, Zeros };
hebbkit::Choices<Padding> param_choices(Padding) { return {{Padding::Reflect, "reflect"}, {Padding::Zeros, "zeros"}}; }

class ScffConv final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "scff_conv";
  static constexpr const char* summary =
      "Self-Contrastive Forward-Forward (Nat. Commun. 2025) through conv layers: unsupervised, pairs of images as "
      "positives and negatives";
  // Per-layer keys take one value for every layer or one per layer.
  struct Config {
    std::vector<std::int64_t> channels = param("channels", std::vector<std::int64_t>{96, 384, 1536},
                                               "kernels of each layer (its output channels), trained one after "
                                               "another")
                                             .at_least(1);
    std::vector<std::int64_t> kernel =
        param("kernel", std::vector<std::int64_t>{5, 3, 3}, "kernel size of each layer").at_least(1);
    std::vector<std::int64_t> padding =
        param("padding", std::vector<std::int64_t>{2, 1, 1}, "padding of each layer").at_least(0);
    Padding padding_mode = param("padding_mode", Padding::Reflect, "what the padding holds: the input mirrored, or zeros");
    std::vector<std::string> activation =
        param("activation", std::vector<std::string>{"triangle", "triangle", "relu"},
              "what each layer passes up: relu(z), or triangle relu(z - mean over channels)");
    std::vector<std::string> pool = param("pool", std::vector<std::string>{"max", "max", "avg"},
                                          "pooling after each layer's activation: max, avg or none (ceil mode)");
    std::vector<std::int64_t> pool_size =
        param("pool_size", std::vector<std::int64_t>{4, 4, 2}, "pooling window of each layer").at_least(1);
    std::vector<std::int64_t> pool_stride =
        param("pool_stride", std::vector<std::int64_t>{2}, "pooling step of each layer").at_least(1);
    std::vector<std::int64_t> pool_padding =
        param("pool_padding", std::vector<std::int64_t>{1, 1, 0}, "pooling padding of each layer").at_least(0);
    std::vector<std::int64_t> pair_layers =
        param("pair_layers", std::vector<std::int64_t>{0, 2},
              "layers that read pairs made afresh from the positives below them (layer 0 always does); the others "
              "take the positives and negatives the layer below made")
            .at_least(0);
    hebbkit::scff::TrainingKeys training{{{6, 4, 21}, 100, {0.01, 0.002, 0.0002}, {0.7, 0.8, 1.0}, {1000, 100, 500},
                                          {1e-4, 1e-4, 3e-4}, {0, 5, 6}, {1, 9, 10}, {0.0012, 0.0007, 0.0005}}};
    bool flip = param("flip", true, "mirror each training image left-right at random in every minibatch, as the "
                                    "authors' loader (both halves of a positive alike)");
    bool standardize_input =
        param("standardize_input", true, "standardise each image (mean 0, std 1) before pairing, as the authors");
    std::int64_t readout_pool =
        param("readout_pool", 2, "a head reads each layer's output average-pooled over windows of this size (the "
                                 "authors' extra_pool; 1: as it is)")
            .at_least(1)
            .readout();
    Output output = param("output", Output::All,
                          "what a head reads: every layer's pooled output standardised and concatenated (the paper's "
                          "readout), or the last layer's");
    Init init = param("init", Init::Xavier, "initial kernels: Xavier-uniform with torch's Conv2d bias (the authors'), "
                                            "or npy (init_prefix)");
    std::string init_prefix = param("init_prefix", "",
                                    "init: npy reads PREFIX_scff<i>_weight.npy and PREFIX_scff<i>_bias.npy for layer i, "
                                    "as a run's model/ holds them (PREFIX runs/X/model/layer0)");
    std::int64_t figure_units =
        param("figure_units", 96, "first-layer kernels drawn in the weight grid").at_least(1).readout();
  };

  ScffConv(const Config& config, const hebbkit::Params& p) : c_(config) {
    const auto layers = c_.channels.size();
    if (layers == 0) p.fail("channels", "needs at least one layer");
    for (const auto& [key, given] :
         {std::pair<const char*, std::size_t>{"kernel", c_.kernel.size()}, {"padding", c_.padding.size()},
          {"activation", c_.activation.size()}, {"pool", c_.pool.size()}, {"pool_size", c_.pool_size.size()},
          {"pool_stride", c_.pool_stride.size()}, {"pool_padding", c_.pool_padding.size()}})
      hebbkit::check_one_or_each(p, key, given, layers, "layer");
    layers_ = c_.training.per_layer(layers, p);
    using hebbkit::one_or_each;
    for (std::size_t i = 0; i < layers; ++i) {
      hebbkit::scff::ConvLayerSpec spec;
      spec.channels = c_.channels[i];
      spec.kernel = one_or_each(c_.kernel, i);
      spec.padding = one_or_each(c_.padding, i);
      spec.reflect = c_.padding_mode == Padding::Reflect;
      const auto& activation = one_or_each(c_.activation, i);
      if (activation != "relu" && activation != "triangle")
        p.fail("activation", fmt::format("'{}' is neither relu nor triangle", activation));
      spec.activation = activation == "relu" ? hebbkit::scff::Activation::Relu : hebbkit::scff::Activation::Triangle;
      const auto& pool = one_or_each(c_.pool, i);
      if (pool != "max" && pool != "avg" && pool != "none")
        p.fail("pool", fmt::format("'{}' is none of max, avg, none", pool));
      spec.pool.kind = pool == "max" ? hebbkit::scff::PoolKind::Max
                       : pool == "avg" ? hebbkit::scff::PoolKind::Avg
                                       : hebbkit::scff::PoolKind::None;
      spec.pool.size = one_or_each(c_.pool_size, i);
      spec.pool.stride = one_or_each(c_.pool_stride, i);
      spec.pool.padding = one_or_each(c_.pool_padding, i);
      if (2 * spec.pool.padding > spec.pool.size)
        p.fail("pool_padding", fmt::format("layer {}: {} is more than half the window {}", i, spec.pool.padding,
                                           spec.pool.size));
      spec.pairs = std::count(c_.pair_layers.begin(), c_.pair_layers.end(), static_cast<std::int64_t>(i)) > 0;
      specs_.push_back(spec);
    }
    for (const auto i : c_.pair_layers)
      if (static_cast<std::size_t>(i) >= layers)
        p.fail("pair_layers", fmt::format("layer {} does not exist: there are {} layers", i, layers));
    hebbkit::check_init_prefix(p, c_.init == Init::Npy, c_.init_prefix);
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    const auto needs = *plan(source.sample_shape());
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.channels", data.index), needs.what);
    stack_ = fresh_stack(source.sample_shape());
    stack_->start_from(c_.init_prefix);
    const auto images = source.all().to(torch::kFloat32);
    hebbkit::scff::Views views;
    views.max_shift = 0;
    views.standardize = c_.standardize_input;
    views.flip = c_.flip;
    views.rows = false;
    hebbkit::scff::train_greedy(*stack_, layers_, images, c_.training.batch, views, ctx, ctx.resume_point());
  }

  // Kernels, their gradients and AdamW's two moments; one minibatch's pairs through the
  // widest layer (positives and negatives, kept for the backward pass).
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    if (input_shape.size() != 3)
      throw hebbkit::RecipeError(fmt::format("scff_conv needs image inputs (C, H, W), got {}: leave 'flatten' out of "
                                             "dataset.preprocess", fmt::join(input_shape, "x")));
    const auto stack = fresh_stack(input_shape);
    const auto outputs = stack->output_shapes(input_shape);
    const auto features = stack->feature_shapes(input_shape);
    double weights = 0, activations = 0;
    std::int64_t below = input_shape[0], h = input_shape[1], w = input_shape[2], out = 0;
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      const auto& s = specs_[i];
      weights += static_cast<double>(s.channels * below * s.kernel * s.kernel);
      // A pair of inputs padded and standardised, and the conv's output, for 2 x batch rows.
      const double rows = 2.0 * static_cast<double>(c_.training.batch);
      activations = std::max(activations, rows * static_cast<double>(2 * below * (h + 2 * s.padding) * (w + 2 * s.padding) +
                                                                      s.channels * h * w));
      below = s.channels, h = outputs[i][1], w = outputs[i][2];
      const std::int64_t values = features[i][0] * features[i][1] * features[i][2];
      out = c_.output == Output::Last ? values : out + values;
    }
    return hebbkit::LayerPlan{{out}, 4 * (4 * weights + 3 * activations), "channels",
                              fmt::format("scff_conv layers of [{}] kernels", fmt::join(c_.channels, ", "))};
  }

  torch::Tensor forward(const torch::Tensor& x) override { return forward_with_activations(x).output; }

  hebbkit::LayerOutput forward_with_activations(const torch::Tensor& x) override {
    auto images = x.to(torch::kFloat32);
    if (c_.standardize_input) images = hebbkit::scff::standardize(images);
    auto features = stack_->features(images);
    auto output = c_.output == Output::Last ? features.back() : torch::cat(features, 1);
    return {std::move(output), std::move(features)};
  }

  // Each process its rows of the global minibatch's pairs (drawn from the shared seed; the
  // fresh pairs of higher layers from the whole minibatch's stream); gradients summed.
  std::string why_not_data_parallel() const override { return ""; }

  std::vector<hebbkit::NamedTensor> state() const override { return stack_ ? stack_->state() : std::vector<hebbkit::NamedTensor>{}; }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& w = hebbkit::find_state(state, "scff0_weight");
    stack_ = std::make_unique<hebbkit::scff::ConvStack>(specs_, w.size(1), readout_pooling());
    stack_->append_from(state);
    if (stack_->size() != specs_.size())
      throw hebbkit::DataError(fmt::format("scff_conv: the saved state holds {} layers; the recipe's channels has {}",
                                           stack_->size(), specs_.size()));
  }

  std::vector<torch::Tensor> parameters() override { return stack_ ? stack_->parameters() : std::vector<torch::Tensor>{}; }

  // The first layer's kernels as images, for inputs of one or three channels.
  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& image_shape) override {
    if (!stack_ || stack_->empty() || image_shape.size() != 3 || (image_shape[0] != 1 && image_shape[0] != 3)) return;
    hebbkit::krotov::draw_units(ctx, stack_->kernels(0).detach(), c_.figure_units, "scff_conv_kernels.png");
  }

 private:
  hebbkit::scff::Pooling readout_pooling() const {
    hebbkit::scff::Pooling pool;
    pool.kind = c_.readout_pool > 1 ? hebbkit::scff::PoolKind::Avg : hebbkit::scff::PoolKind::None;
    pool.size = pool.stride = c_.readout_pool;
    return pool;
  }
  std::unique_ptr<hebbkit::scff::ConvStack> fresh_stack(const std::vector<std::int64_t>& input_shape) const {
    return std::make_unique<hebbkit::scff::ConvStack>(specs_, input_shape.at(0), readout_pooling());
  }

  Config c_;
  std::vector<hebbkit::scff::LayerTraining> layers_;
  std::vector<hebbkit::scff::ConvLayerSpec> specs_;
  std::unique_ptr<hebbkit::scff::ConvStack> stack_;
};

}  // namespace

HEBBKIT_PLUGIN(ScffConv)
