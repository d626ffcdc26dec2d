// SoftHebb layer (Journe et al., ICLR 2023): soft winner-take-all Hebbian plasticity with an
// adaptive learning rate, conv or linear (inputs of one dimension become 1x1 kernels over
// (D, 1, 1)). Output: pool(activation(conv(bn(x), W))^power), by default SoftHebb's triangle.
#include <hebbkit/hebbkit.hpp>
#include <hebbkit/initial_weights.hpp>
#include <torch/types.h>

#include "krotov_training.hpp"
#include "softhebb_update.hpp"

namespace {

enum class Init { Normal, Npy };
hebbkit::Choices<Init> param_choices(Init) { return {{Init::Normal, "normal"}, {Init::Npy, "npy"}}; }

using hebbkit::param;

class SoftHebbRule final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "softhebb";
  static constexpr const char* summary =
      "SoftHebb (ICLR 2023): soft winner-take-all Hebbian plasticity, adaptive rate, conv or linear, unsupervised";
  struct Config {
    std::int64_t kernels = param("kernels", 96, "number of kernels (output channels; units of a linear layer)").at_least(2);
    double t_invert = param("t_invert", 1.0, "inverse temperature of the soft winner-take-all").at_least(0);
    double lr = param("lr", 0.08, "base learning rate; each kernel's is lr |‖w‖ - 1|^lr_power").at_least(0);
    double lr_power = param("lr_power", 0.5, "exponent of the adaptive rate").at_least(0);
    Init init = param("init", Init::Normal, "initial kernels: normal with std init_scale / sqrt(patch size), or init_file");
    double init_scale =
        param("init_scale", 25.0, "initial weights: normal with std init_scale / sqrt(patch size)").at_least(0);
    std::string init_file = param("init_file", "",
                                  "a .npy of shape (kernels, channels, kernel, kernel), e.g. a reference "
                                  "implementation's initial weights or a previous run's model/layer0_weights.npy");
    std::int64_t epochs = param("epochs", 1, "passes over the training set").at_least(0);
    std::int64_t batch = param("batch", 10, "minibatch size (images)").at_least(1);
    bool shuffle = param("shuffle", true, "reshuffle the training set every epoch");
    bool batch_norm = param("batch_norm", true, "parameter-free batch norm of the inputs per channel before the layer");
    std::int64_t patch_chunk = param("patch_chunk", 4096, "patches gathered at once by the update").at_least(1);
    std::int64_t figure_units =
        param("figure_units", 96, "kernels drawn in the weight grid (inputs of 1 or 3 channels)").at_least(1).readout();
    hebbkit::ConvParams conv{5, hebbkit::PaddingMode::Reflect};
    hebbkit::LayerActivation activation{hebbkit::Activation::Triangle, hebbkit::PoolKind::None};
  };

  SoftHebbRule(const Config& config, const hebbkit::Params& params)
      : params_(params), c_(config), geometry_(c_.conv) {
    hyper_.t_invert = c_.t_invert;
    hyper_.lr = c_.lr;
    hyper_.lr_power = c_.lr_power;
    hebbkit::check_init_file(params, c_.init == Init::Npy, c_.init_file, hebbkit::choice_name(c_.init));
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    const auto shape = image_shape(source.sample_shape());
    const auto needs = *plan(source.sample_shape());
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.patch_chunk = {}", data.index, c_.patch_chunk),
                                  needs.what);
    const auto& g = geometry_for(source.sample_shape());
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(ctx.device());
    const double scale = c_.init_scale / std::sqrt(static_cast<double>(g.patch_size(shape[0])));
    const std::vector<std::int64_t> size = {c_.kernels, shape[0], g.kernel_h, g.kernel_w};
    kernels_state_ = std::make_unique<hebbkit::softhebb::Kernels>(
        c_.init == Init::Npy ? hebbkit::load_initial_weights(c_.init_file, size, options)
                             : torch::randn(size, options) * scale,
        hyper_, g, c_.patch_chunk);
    if (c_.batch_norm) norm_ = hebbkit::ChannelNorm(shape[0], options);
    std::int64_t first_epoch = 0;
    if (auto resume = ctx.resume_point()) {
      load_state(resume->tensors);
      first_epoch = resume->epochs_done;
    }
    ctx.info("{} kernels of {}x{}x{} ({}) on {} inputs; t_invert={} lr={} (adaptive, power {}) batch={} for {} epochs{}",
             c_.kernels, shape[0], g.kernel_h, g.kernel_w, g.describe(), fmt::join(source.sample_shape(), "x"),
             hyper_.t_invert, hyper_.lr, hyper_.lr_power, c_.batch, c_.epochs,
             first_epoch > 0 ? fmt::format(", continuing after epoch {}", first_epoch) : std::string());
    // The Krotov family's loop, with a constant schedule: SoftHebb's rate adapts per kernel.
    hebbkit::krotov::Schedule schedule;
    schedule.kind = hebbkit::krotov::ScheduleKind::Constant;
    schedule.eps0 = hyper_.lr;
    schedule.epochs = c_.epochs;
    hebbkit::krotov::Learner learner{
        "softhebb",
        [&](const torch::Tensor& x, double) {
          auto in = as_image(x.to(torch::kFloat32));
          auto& world = ctx.collective();
          kernels_state_->step(c_.batch_norm ? norm_.train(in, world) : in, world);
          return c_.kernels;
        },
        [&] { return kernels_state_->norm_error(); }, [&] { return state(); }, "max|‖w‖-1|"};
    hebbkit::krotov::train_epochs(source, ctx, learner, schedule, c_.batch, c_.shuffle, first_epoch);
    const auto error = kernels_state_->norm_error();
    ctx.info("|‖w‖ - 1| over kernels: max {:.4g}, median {:.4g}; mean adaptive rate {:.3g}", error.max().item<double>(),
             error.median().item<double>(), kernels_state_->rates().mean().item<double>());
  }

  // Each process takes its shard of every minibatch (run_epochs); dW and the batch norm's
  // statistics are summed over the processes.
  std::string why_not_data_parallel() const override { return ""; }

  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    if (input_shape.size() != 3 && input_shape.size() != 1)
      params_.fail("kernels", fmt::format("softhebb reads images (channels, height, width) or vectors; its inputs are {}",
                                          fmt::join(input_shape, "x")));
    const auto shape = image_shape(input_shape);
    const auto& g = geometry_for(input_shape);
    const auto output = input_shape.size() == 1 ? std::vector<std::int64_t>{c_.kernels}
                                                : c_.activation.conv_output_shape(g, c_.kernels, shape, params_);
    const double dim = static_cast<double>(g.patch_size(shape[0]));
    const double bytes = 4.0 * (static_cast<double>(c_.patch_chunk) * (dim + 3.0 * c_.kernels) + 3.0 * c_.kernels * dim);
    return hebbkit::LayerPlan{output, bytes, "patch_chunk",
                              fmt::format("{} patches of {} values and their {} soft activations", c_.patch_chunk, dim, c_.kernels)};
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    const bool vector = x.dim() == 2;
    auto in = as_image(x);
    if (c_.batch_norm) in = norm_.apply(in);
    const auto& g = vector ? linear_geometry() : geometry_;
    const auto y = c_.activation.conv_output(g, in, kernels_state_->weights());
    return vector ? y.flatten(1) : y;
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"weights", kernels_state_->weights()}};
    if (c_.batch_norm)
      for (auto& t : norm_.state("input_norm")) out.push_back(std::move(t));
    return out;
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& w = hebbkit::find_state(state, "weights");
    if (w.dim() != 4 || w.size(0) != c_.kernels)
      throw hebbkit::DataError(fmt::format("softhebb weights have shape {}, the layer has {} kernels",
                                           fmt::join(w.sizes(), "x"), c_.kernels));
    // A linear layer's kernels are 1x1 whatever `kernel` says.
    const bool linear = w.size(2) == 1 && w.size(3) == 1 && geometry_.kernel_h != 1;
    kernels_state_ = std::make_unique<hebbkit::softhebb::Kernels>(w.to(torch::kFloat32).clone(), hyper_,
                                                                  linear ? linear_geometry() : geometry_, c_.patch_chunk);
    if (c_.batch_norm) norm_.load_state(state, "input_norm", w.size(1));
  }

  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& /*image_shape*/) override {
    const auto& w = kernels_state_->weights();
    if (w.size(1) != 1 && w.size(1) != 3) return;
    hebbkit::krotov::draw_units(ctx, w, c_.figure_units, "softhebb_kernels.png");
  }

 private:
  static std::vector<std::int64_t> image_shape(const std::vector<std::int64_t>& s) {
    return s.size() == 1 ? std::vector<std::int64_t>{s[0], 1, 1} : s;
  }
  static torch::Tensor as_image(const torch::Tensor& x) { return x.dim() == 2 ? x.view({x.size(0), x.size(1), 1, 1}) : x; }
  static const hebbkit::ConvGeometry& linear_geometry() {
    static const hebbkit::ConvGeometry one_by_one;
    return one_by_one;
  }
  const hebbkit::ConvGeometry& geometry_for(const std::vector<std::int64_t>& input_shape) const {
    return input_shape.size() == 1 ? linear_geometry() : geometry_;
  }

  hebbkit::Params params_;
  Config c_;
  hebbkit::ConvGeometry geometry_;
  hebbkit::softhebb::Hyper hyper_;
  hebbkit::ChannelNorm norm_;
  std::unique_ptr<hebbkit::softhebb::Kernels> kernels_state_;
};

}  // namespace

HEBBKIT_PLUGIN(SoftHebbRule)
