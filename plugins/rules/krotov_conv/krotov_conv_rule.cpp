// Convolutional Krotov-Hopfield layer (biopytorch's BioConv2d): kernels are the competing
// hidden units and every image patch is an input. The layer outputs
// pool(activation(conv(bn(x), K))^power), K the powered kernels sign(W)|W|^(p-1) (as
// biopytorch) or W itself. The update is in ../krotov/conv_update.cpp.
#include <hebbkit/hebbkit.hpp>
#include <hebbkit/initial_weights.hpp>
#include <torch/types.h>

#include "conv_update.hpp"
#include "krotov_training.hpp"

namespace {

using hebbkit::param;

enum class Output { Powered, Weights };
hebbkit::Choices<Output> param_choices(Output) { return {{Output::Powered, "powered"}, {Output::Weights, "weights"}}; }
enum class Init { Normal, Uniform, Npy };
hebbkit::Choices<Init> param_choices(Init) {
  return {{Init::Normal, "normal"}, {Init::Uniform, "uniform"}, {Init::Npy, "npy"}};
}

class KrotovConvRule final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "krotov_conv";
  static constexpr const char* summary =
      "convolutional Krotov-Hopfield layer: kernels compete for image patches (biopytorch's BioConv2d), unsupervised";
  struct Config {
    std::int64_t kernels = param("kernels", 96, "number of kernels (output channels), the competing units").at_least(2);
    double p = param("p", 2.0, "Lebesgue norm power of the synapses").at_least(2);
    std::int64_t k =
        param("k", 2, "rank of the kernel that gets anti-Hebbian learning at each patch (2..kernels)").at_least(2);
    double delta = param("delta", 0.1, "strength of anti-Hebbian learning").at_least(0);
    hebbkit::krotov::Normalise normalise =
        param("normalise", hebbkit::krotov::Normalise::PerKernel,
              "divide each kernel's update by its own max |ds| (biopytorch) or all by the overall max (the paper)");
    double prec = param("prec", 1e-5, "floor of the update normaliser").at_least(0);
    std::int64_t epochs = param("epochs", 1, "passes over the training set").at_least(0);
    std::int64_t batch = param("batch", 64, "minibatch size (images)").at_least(1);
    bool shuffle = param("shuffle", true, "reshuffle the training set every epoch");
    bool batch_norm =
        param("batch_norm", true, "parameter-free batch norm of the inputs per channel before the layer (biopytorch)");
    Output output = param("output", Output::Powered,
                          "the layer convolves with the powered kernels sign(W)|W|^(p-1) (biopytorch) or with W")
                        .readout();
    Init init = param("init", Init::Normal, "initial kernels: normal(mu, sigma), uniform [0, 1), or init_file");
    std::string init_file = param("init_file", "",
                                  "a .npy of shape (kernels, channels, kernel, kernel), e.g. a previous run's "
                                  "model/layer0_weights.npy");
    double mu = param("mu", 0.0, "mean of the normal initialisation");
    double sigma = param("sigma", 1.0, "standard deviation of the normal initialisation").at_least(0);
    std::int64_t patch_chunk =
        param("patch_chunk", 4096, "patches gathered at once by the update (memory: chunk x (patch + kernels))")
            .at_least(1);
    double inhibitory = param("inhibitory", 0.0,
                              "Dale's law: this fraction of the input channels (chosen by the seed) is inhibitory, "
                              "the kernels' weights on them stay <= 0 and on the others >= 0; 0: no sign constraint")
                            .in_range(0, 1);
    std::int64_t figure_units =
        param("figure_units", 96, "kernels drawn in the weight grid (inputs of 1 or 3 channels)").at_least(1).readout();
    hebbkit::ConvParams conv{5};
    hebbkit::LayerActivation activation{hebbkit::Activation::Relu, hebbkit::PoolKind::None};
    hebbkit::krotov::Schedule schedule{0.02};
  };

  KrotovConvRule(const Config& config, const hebbkit::Params& params)
      : params_(params), c_(config), geometry_(c_.conv) {
    c_.schedule.epochs = c_.epochs;
    hyper_.p = c_.p;
    hyper_.k = c_.k;
    hyper_.delta = c_.delta;
    hyper_.prec = c_.prec;
    if (c_.k > c_.kernels) params.fail("k", fmt::format("k = {} must not exceed kernels = {}", c_.k, c_.kernels));
    hebbkit::check_init_file(params, c_.init == Init::Npy, c_.init_file, hebbkit::choice_name(c_.init));
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    const auto shape = source.sample_shape();
    const auto needs = *plan(shape);
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.patch_chunk = {}", data.index, c_.patch_chunk),
                                  needs.what);
    const std::int64_t channels = shape[0];
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(ctx.device());
    const std::vector<std::int64_t> size = {c_.kernels, channels, geometry_.kernel_h, geometry_.kernel_w};
    auto w = c_.init == Init::Npy       ? hebbkit::load_initial_weights(c_.init_file, size, options)
             : c_.init == Init::Uniform ? torch::rand(size, options)
                                        : torch::randn(size, options) * c_.sigma + c_.mu;
    synapses_ = std::make_unique<hebbkit::krotov::ConvSynapses>(w, hyper_, c_.normalise, geometry_, c_.patch_chunk);
    if (c_.inhibitory > 0) {
      signs_ = hebbkit::krotov::dale_signs(channels, c_.inhibitory, options);
      synapses_->constrain_signs(signs_);
      ctx.info("Dale's law: {} of {} input channels inhibitory", signs_.lt(0).sum().item<std::int64_t>(), channels);
    }
    if (c_.batch_norm) norm_ = hebbkit::ChannelNorm(channels, options);
    std::int64_t first_epoch = 0;
    if (auto resume = ctx.resume_point()) {
      load_state(resume->tensors);
      first_epoch = resume->epochs_done;
    }
    const auto [ho, wo] = geometry_.output_size(shape[1], shape[2]);
    ctx.info("{} kernels of {}x{}x{} ({}) on {}x{}x{} inputs, {}x{} patches per image; p={} k={} delta={} eps0={} ({}) "
             "batch={} for {} epochs{}",
             c_.kernels, channels, geometry_.kernel_h, geometry_.kernel_w, geometry_.describe(), shape[0], shape[1],
             shape[2], ho, wo, hyper_.p, hyper_.k, hyper_.delta, c_.schedule.eps0, hebbkit::choice_name(c_.schedule.kind), c_.batch,
             c_.schedule.epochs, first_epoch > 0 ? fmt::format(", continuing after epoch {}", first_epoch) : std::string());
    hebbkit::krotov::Learner learner{
        "krotov_conv",
        [&](const torch::Tensor& x, double eps) {
          // x is this process's shard of the minibatch (run_epochs splits it); the step and
          // the batch norm's statistics sum over the processes.
          const auto in = x.to(torch::kFloat32);
          auto& world = ctx.collective();
          const auto touched = synapses_->step(c_.batch_norm ? norm_.train(in, world) : in, eps, world);
          if (signs_.defined()) synapses_->constrain_signs(signs_);
          return touched;
        },
        [&] { return synapses_->norm_error(); }, [&] { return state(); }};
    hebbkit::krotov::train_epochs(source, ctx, learner, c_.schedule, c_.batch, c_.shuffle, first_epoch);
    hebbkit::krotov::log_convergence(ctx, synapses_->norm_error());
  }

  std::string why_not_data_parallel() const override { return ""; }

  // The kernels are small; the update's chunk of patches and their currents, and one
  // evaluation batch's output dominate.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    if (input_shape.size() != 3)
      params_.fail("kernels", fmt::format("krotov_conv needs image-shaped inputs (channels, height, width); its inputs "
                                          "are {} (drop 'flatten' from dataset.preprocess, or put the conv layers "
                                          "first)", fmt::join(input_shape, "x")));
    const auto output = c_.activation.conv_output_shape(geometry_, c_.kernels, input_shape, params_);
    const double dim = static_cast<double>(geometry_.patch_size(input_shape[0]));
    const double bytes = 4.0 * (static_cast<double>(c_.patch_chunk) * (dim + c_.kernels) + 4.0 * c_.kernels * dim);
    return hebbkit::LayerPlan{output, bytes, "patch_chunk",
                              fmt::format("{} patches of {} values and their {} currents", c_.patch_chunk, dim, c_.kernels)};
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    const auto in = c_.batch_norm ? norm_.apply(x) : x;
    const auto& w = synapses_->kernels();
    return c_.activation.conv_output(geometry_, in, c_.output == Output::Powered ? synapses_->powered_kernels() : w);
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"weights", synapses_->kernels()}};
    if (c_.batch_norm)
      for (auto& t : norm_.state("input_norm")) out.push_back(std::move(t));
    if (signs_.defined()) out.emplace_back("input_signs", signs_);
    return out;
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& w = hebbkit::find_state(state, "weights");
    if (w.dim() != 4 || w.size(0) != c_.kernels || w.size(2) != geometry_.kernel_h || w.size(3) != geometry_.kernel_w)
      throw hebbkit::DataError(fmt::format("krotov_conv weights have shape {}, the layer has {} kernels of {}x{}",
                                           fmt::join(w.sizes(), "x"), c_.kernels, geometry_.kernel_h, geometry_.kernel_w));
    synapses_ = std::make_unique<hebbkit::krotov::ConvSynapses>(w.to(torch::kFloat32).clone(), hyper_, c_.normalise,
                                                                geometry_, c_.patch_chunk);
    if (c_.batch_norm) norm_.load_state(state, "input_norm", w.size(1));
    if (c_.inhibitory > 0) signs_ = hebbkit::find_state(state, "input_signs").to(torch::kFloat32);
  }

  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& /*image_shape*/) override {
    const auto& w = synapses_->kernels();
    if (w.size(1) != 1 && w.size(1) != 3) {
      ctx.info("kernels read {} channels, not an image; no weight grid", w.size(1));
      return;
    }
    hebbkit::krotov::draw_units(ctx, w, c_.figure_units, "krotov_conv_kernels.png");
  }

 private:
  hebbkit::Params params_;
  Config c_;
  torch::Tensor signs_;  ///< +1 / -1 per input channel under Dale's law; undefined without it
  hebbkit::ConvGeometry geometry_;
  hebbkit::krotov::Hyper hyper_;
  hebbkit::ChannelNorm norm_;
  std::unique_ptr<hebbkit::krotov::ConvSynapses> synapses_;
};

}  // namespace

HEBBKIT_PLUGIN(KrotovConvRule)
