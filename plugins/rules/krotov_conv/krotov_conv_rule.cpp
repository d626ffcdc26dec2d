// Convolutional Krotov-Hopfield layer (biopytorch's BioConv2d): kernels are the competing
// hidden units and every image patch is an input. The layer outputs
// pool(activation(conv(bn(x), K))^power), K the powered kernels sign(W)|W|^(p-1) (as
// biopytorch) or W itself. The update is in ../krotov/conv_update.cpp.
#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

#include "conv_update.hpp"
#include "krotov_training.hpp"

namespace {

class KrotovConvRule final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "krotov_conv";
  static constexpr const char* summary =
      "convolutional Krotov-Hopfield layer: kernels compete for image patches (biopytorch's BioConv2d), unsupervised";
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    hebbkit::ParamSchema s = {
        integer("kernels", 96, "number of kernels (output channels), the competing units").at_least(2),
        real("p", 2.0, "Lebesgue norm power of the synapses").at_least(2),
        integer("k", 2, "rank of the kernel that gets anti-Hebbian learning at each patch (2..kernels)").at_least(2),
        real("delta", 0.1, "strength of anti-Hebbian learning").at_least(0),
        choice("normalise", "kernel", {"kernel", "global"},
               "divide each kernel's update by its own max |ds| (biopytorch) or all by the overall max (the paper)"),
        real("prec", 1e-5, "floor of the update normaliser").at_least(0),
        integer("epochs", 1, "passes over the training set").at_least(0),
        integer("batch", 64, "minibatch size (images)").at_least(1),
        boolean("shuffle", true, "reshuffle the training set every epoch"),
        boolean("batch_norm", true, "parameter-free batch norm of the inputs per channel before the layer (biopytorch)"),
        choice("output", "powered", {"powered", "weights"},
               "the layer convolves with the powered kernels sign(W)|W|^(p-1) (biopytorch) or with W")
            .make_readout(),
        choice("init", "normal", {"normal", "uniform"}, "initial kernels: normal(mu, sigma) or uniform [0, 1)"),
        real("mu", 0.0, "mean of the normal initialisation"),
        real("sigma", 1.0, "standard deviation of the normal initialisation").at_least(0),
        integer("patch_chunk", 4096, "patches gathered at once by the update (memory: chunk x (patch + kernels))")
            .at_least(1),
        real("inhibitory", 0.0,
             "Dale's law: this fraction of the input channels (chosen by the seed) is inhibitory, the kernels' "
             "weights on them stay <= 0 and on the others >= 0; 0: no sign constraint")
            .in_range(0, 1),
        integer("figure_units", 96, "kernels drawn in the weight grid (inputs of 1 or 3 channels)")
            .at_least(1)
            .make_readout(),
    };
    for (auto& spec : hebbkit::ConvGeometry::schema(5)) s.push_back(std::move(spec));
    for (auto& spec : hebbkit::LayerActivation::schema("relu", "none")) s.push_back(std::move(spec));
    for (auto& spec : hebbkit::krotov::Schedule::schema(0.02)) s.push_back(std::move(spec));
    return s;
  }

  explicit KrotovConvRule(const hebbkit::Params& p)
      : params_(p), kernels_(p.integer("kernels")), batch_(p.integer("batch")), shuffle_(p.boolean("shuffle")),
        batch_norm_(p.boolean("batch_norm")), powered_output_(p.string("output") == "powered"),
        init_(p.string("init")), mu_(p.real("mu")), sigma_(p.real("sigma")), chunk_(p.integer("patch_chunk")),
        figure_units_(p.integer("figure_units")), inhibitory_(p.real("inhibitory")), geometry_(hebbkit::ConvGeometry::from(p)),
        activation_(hebbkit::LayerActivation::from(p)), schedule_(hebbkit::krotov::Schedule::from(p)),
        normalise_(p.string("normalise") == "kernel" ? hebbkit::krotov::Normalise::PerKernel
                                                     : hebbkit::krotov::Normalise::Global) {
    hyper_.p = p.real("p");
    hyper_.k = p.integer("k");
    hyper_.delta = p.real("delta");
    hyper_.prec = p.real("prec");
    if (hyper_.k > kernels_) p.fail("k", fmt::format("k = {} must not exceed kernels = {}", hyper_.k, kernels_));
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    const auto shape = source.sample_shape();
    const auto needs = *plan(shape);
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.patch_chunk = {}", data.index, chunk_),
                                  needs.what);
    const std::int64_t channels = shape[0];
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(ctx.device());
    const std::vector<std::int64_t> size = {kernels_, channels, geometry_.kernel_h, geometry_.kernel_w};
    auto w = init_ == "uniform" ? torch::rand(size, options) : torch::randn(size, options) * sigma_ + mu_;
    synapses_ = std::make_unique<hebbkit::krotov::ConvSynapses>(w, hyper_, normalise_, geometry_, chunk_);
    if (inhibitory_ > 0) {
      signs_ = hebbkit::krotov::dale_signs(channels, inhibitory_, options);
      synapses_->constrain_signs(signs_);
      ctx.info("Dale's law: {} of {} input channels inhibitory", signs_.lt(0).sum().item<std::int64_t>(), channels);
    }
    if (batch_norm_) norm_ = hebbkit::ChannelNorm(channels, options);
    std::int64_t first_epoch = 0;
    if (auto resume = ctx.resume_point()) {
      load_state(resume->tensors);
      first_epoch = resume->epochs_done;
    }
    const auto [ho, wo] = geometry_.output_size(shape[1], shape[2]);
    ctx.info("{} kernels of {}x{}x{} ({}) on {}x{}x{} inputs, {}x{} patches per image; p={} k={} delta={} eps0={} ({}) "
             "batch={} for {} epochs{}",
             kernels_, channels, geometry_.kernel_h, geometry_.kernel_w, geometry_.describe(), shape[0], shape[1],
             shape[2], ho, wo, hyper_.p, hyper_.k, hyper_.delta, schedule_.eps0, schedule_.kind, batch_,
             schedule_.epochs, first_epoch > 0 ? fmt::format(", continuing after epoch {}", first_epoch) : std::string());
    hebbkit::krotov::Learner learner{
        "krotov_conv",
        [&](const torch::Tensor& x, double eps) {
          const auto in = x.to(torch::kFloat32);
          const auto touched = synapses_->step(batch_norm_ ? norm_.train(in) : in, eps);
          if (signs_.defined()) synapses_->constrain_signs(signs_);
          return touched;
        },
        [&] { return synapses_->norm_error(); }, [&] { return state(); }};
    hebbkit::krotov::train_epochs(source, ctx, learner, schedule_, batch_, shuffle_, first_epoch);
    hebbkit::krotov::log_convergence(ctx, synapses_->norm_error());
  }

  // The kernels are small; the update's chunk of patches and their currents, and one
  // evaluation batch's output dominate.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    if (input_shape.size() != 3)
      params_.fail("kernels", fmt::format("krotov_conv needs image-shaped inputs (channels, height, width); its inputs "
                                          "are {} (drop 'flatten' from dataset.preprocess, or put the conv layers "
                                          "first)", fmt::join(input_shape, "x")));
    const auto output = activation_.conv_output_shape(geometry_, kernels_, input_shape, params_);
    const double dim = static_cast<double>(geometry_.patch_size(input_shape[0]));
    const double bytes = 4.0 * (static_cast<double>(chunk_) * (dim + kernels_) + 4.0 * kernels_ * dim);
    return hebbkit::LayerPlan{output, bytes, "patch_chunk",
                              fmt::format("{} patches of {} values and their {} currents", chunk_, dim, kernels_)};
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    const auto in = batch_norm_ ? norm_.apply(x) : x;
    const auto& w = synapses_->kernels();
    return activation_.conv_output(geometry_, in, powered_output_ ? synapses_->powered_kernels() : w);
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"weights", synapses_->kernels()}};
    if (batch_norm_)
      for (auto& t : norm_.state("input_norm")) out.push_back(std::move(t));
    if (signs_.defined()) out.emplace_back("input_signs", signs_);
    return out;
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& w = hebbkit::find_state(state, "weights");
    if (w.dim() != 4 || w.size(0) != kernels_ || w.size(2) != geometry_.kernel_h || w.size(3) != geometry_.kernel_w)
      throw hebbkit::DataError(fmt::format("krotov_conv weights have shape {}, the layer has {} kernels of {}x{}",
                                           fmt::join(w.sizes(), "x"), kernels_, geometry_.kernel_h, geometry_.kernel_w));
    synapses_ = std::make_unique<hebbkit::krotov::ConvSynapses>(w.to(torch::kFloat32).clone(), hyper_, normalise_,
                                                                geometry_, chunk_);
    if (batch_norm_) norm_.load_state(state, "input_norm", w.size(1));
    if (inhibitory_ > 0) signs_ = hebbkit::find_state(state, "input_signs").to(torch::kFloat32);
  }

  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& /*image_shape*/) override {
    const auto& w = synapses_->kernels();
    if (w.size(1) != 1 && w.size(1) != 3) {
      ctx.info("kernels read {} channels, not an image; no weight grid", w.size(1));
      return;
    }
    hebbkit::krotov::draw_units(ctx, w, figure_units_, "krotov_conv_kernels.png");
  }

 private:
  hebbkit::Params params_;
  std::int64_t kernels_, batch_;
  bool shuffle_, batch_norm_, powered_output_;
  std::string init_;
  double mu_, sigma_;
  std::int64_t chunk_, figure_units_;
  double inhibitory_;
  torch::Tensor signs_;  ///< +1 / -1 per input channel under Dale's law; undefined without it
  hebbkit::ConvGeometry geometry_;
  hebbkit::LayerActivation activation_;
  hebbkit::krotov::Schedule schedule_;
  hebbkit::krotov::Normalise normalise_;
  hebbkit::krotov::Hyper hyper_;
  hebbkit::ChannelNorm norm_;
  std::unique_ptr<hebbkit::krotov::ConvSynapses> synapses_;
};

}  // namespace

HEBBKIT_PLUGIN(KrotovConvRule)
