// Krotov-Hopfield rule: unsupervised, local, competing hidden units. The layer's output
// is relu(W v)^n; the update itself is in krotov_update.cpp.
#include <hebbkit/hebbkit.hpp>
#include <hebbkit/initial_weights.hpp>
#include <torch/types.h>

#include "krotov_training.hpp"
#include "krotov_update.hpp"

namespace {

using hebbkit::param;

enum class Init { Normal, Uniform, Npy };
hebbkit::Choices<Init> param_choices(Init) { return {{Init::Normal, "normal"}, {Init::Uniform, "uniform"}, {Init::Npy, "npy"}}; }

class KrotovRule final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "krotov";
  static constexpr const char* summary = "Krotov-Hopfield competing hidden units (PNAS 2019), unsupervised";
  struct Config {
    std::int64_t hidden = param("hidden", 2000, "number of hidden units").at_least(1);
    double p = param("p", 3.0, "Lebesgue norm power of the synapses").at_least(2);
    std::int64_t k = param("k", 7, "rank of the unit that gets anti-Hebbian learning (2..hidden)").at_least(2);
    double delta = param("delta", 0.4, "strength of anti-Hebbian learning").at_least(0);
    std::int64_t epochs = param("epochs", 100, "passes over the training set").at_least(0);
    std::int64_t batch = param("batch", 100, "minibatch size").at_least(1);
    double prec = param("prec", 1e-30, "floor of the update normaliser").at_least(0);
    double homeostasis = param("homeostasis", 0.0,
                               "units are ranked by current minus a threshold that rises this much per win and falls "
                               "by the fair share (batch / hidden) per minibatch, so no unit stays dead; 0: the "
                               "published rule")
                             .at_least(0);
    Init init = param("init", Init::Normal, "initial synapses: normal(mu, sigma), uniform [0, 1), or init_file");
    double mu = param("mu", 0.0, "mean of the normal initialisation");
    double sigma = param("sigma", 1.0, "standard deviation of the normal initialisation").at_least(0);
    std::string init_file =
        param("init_file", "", "a .npy of shape (hidden, inputs), e.g. a previous run's artifacts/layer0_weights.npy");
    bool shuffle = param("shuffle", true, "reshuffle the training set every epoch");
    double n = param("n", 1.0, "output power: the layer outputs relu(W v)^n").at_least(0).readout();
    std::int64_t figure_units = param("figure_units", 100, "units drawn in the weight grid").at_least(1).readout();
    bool unit_norm_inputs = param("unit_norm_inputs", false,
                                  "scale every input row to L2 norm 1 before the layer (as the first layer's "
                                  "preprocessing does; for layers stacked on another layer's outputs)");
    double inhibitory = param("inhibitory", 0.0,
                              "Dale's law: this fraction of the layer's inputs (chosen by the seed) is inhibitory, "
                              "their weights stay <= 0 and the others' >= 0; 0: no sign constraint")
                            .in_range(0, 1);
    hebbkit::krotov::Schedule schedule{0.04};
  };

  KrotovRule(const Config& config, const hebbkit::Params& params) : c_(config) {
    c_.schedule.epochs = c_.epochs;
    hyper_ = {c_.p, c_.k, c_.delta, c_.prec, c_.homeostasis};
    if (c_.k > c_.hidden) params.fail("k", fmt::format("k = {} must not exceed hidden = {}", c_.k, c_.hidden));
    hebbkit::check_init_file(params, c_.init == Init::Npy, c_.init_file, hebbkit::choice_name(c_.init));
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    std::int64_t inputs = 1;
    for (const auto d : source.sample_shape()) inputs *= d;
    const auto needs = *plan(source.sample_shape());  // for data sets whose shape validate did not know
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.hidden = {}", data.index, c_.hidden), needs.what);
    auto w = initial_weights(inputs, ctx);
    if (c_.inhibitory > 0) {
      signs_ = hebbkit::krotov::dale_signs(inputs, c_.inhibitory, w.options());
      hebbkit::krotov::constrain_to_signs(w, signs_);
      ctx.info("Dale's law: {} of {} inputs inhibitory", signs_.lt(0).sum().item<std::int64_t>(), inputs);
    }
    synapses_ = std::make_unique<hebbkit::krotov::Synapses>(w, hyper_);
    std::int64_t first_epoch = 0;
    if (auto resume = ctx.resume_point()) {
      load_state(resume->tensors);
      synapses_ = std::make_unique<hebbkit::krotov::Synapses>(
          synapses_->weights(), hebbkit::find_state(resume->tensors, "powered_weights").contiguous(), hyper_);
      if (hyper_.homeostasis > 0) synapses_->set_thresholds(hebbkit::find_state(resume->tensors, "thresholds").clone());
      first_epoch = resume->epochs_done;
    }
    ctx.info("{} units, {} inputs, p={} k={} delta={} eps0={} ({}) batch={}{} for {} epochs{}", c_.hidden, inputs,
             hyper_.p, hyper_.k, hyper_.delta, c_.schedule.eps0, hebbkit::choice_name(c_.schedule.kind), c_.batch,
             hyper_.homeostasis > 0 ? fmt::format(" homeostasis={}", hyper_.homeostasis) : std::string(), c_.epochs,
             first_epoch > 0 ? fmt::format(", continuing after epoch {}", first_epoch) : std::string());
    hebbkit::krotov::Learner learner{
        "krotov",
        [&](const torch::Tensor& x, double eps) {
          const auto touched = synapses_->step(prepared(x.to(torch::kFloat32)).contiguous(), eps, ctx.collective());
          if (signs_.defined()) synapses_->constrain_signs(signs_);
          return touched;
        },
        [&] { return synapses_->norm_error(); },
        [&] {
          auto state = this->state();
          state.emplace_back("powered_weights", synapses_->powered_weights());
          if (synapses_->thresholds().defined()) state.emplace_back("thresholds", synapses_->thresholds());
          return state;
        }};
    learner.whole_batches = true;  // Synapses::step ranks this process's shard and gathers
    hebbkit::krotov::train_epochs(source, ctx, learner, c_.schedule, c_.batch, c_.shuffle, first_epoch);
    hebbkit::krotov::log_convergence(ctx, synapses_->norm_error());
  }

  std::string why_not_data_parallel() const override { return ""; }

  // The synapses, their cached powers and the update rows, in float.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    std::int64_t inputs = 1;
    for (const auto d : input_shape) inputs *= d;
    return hebbkit::LayerPlan{{c_.hidden}, 3.0 * 4 * static_cast<double>(c_.hidden) * static_cast<double>(inputs), "hidden",
                              fmt::format("{} units x {} inputs", c_.hidden, inputs)};
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    // In place: the product is fresh, and mm's backward does not read it.
    const auto currents = torch::mm(prepared(x), synapses_->weights().t()).relu_();
    return c_.n == 1.0 ? currents : currents.pow(c_.n);
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"weights", synapses_->weights()}};
    if (signs_.defined()) out.emplace_back("input_signs", signs_);
    return out;
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& w = hebbkit::find_state(state, "weights");
    if (w.dim() != 2 || w.size(0) != c_.hidden)
      throw hebbkit::DataError(fmt::format("krotov weights have shape {}, the layer has hidden = {} units",
                                           fmt::join(w.sizes(), "x"), c_.hidden));
    synapses_ = std::make_unique<hebbkit::krotov::Synapses>(w.to(torch::kFloat32).contiguous(), hyper_);
    if (c_.inhibitory > 0) signs_ = hebbkit::find_state(state, "input_signs").to(torch::kFloat32);
  }

  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& image_shape) override {
    const auto w = synapses_->weights().detach().to(torch::kCPU);
    const std::int64_t units = std::min<std::int64_t>(c_.figure_units, w.size(0));
    std::int64_t volume = 1;
    for (auto d : image_shape) volume *= d;
    if (image_shape.size() != 3 || volume != w.size(1)) {
      ctx.warn("weights have {} inputs, not an image of the dataset's shape; no weight grid", w.size(1));
      return;
    }
    hebbkit::krotov::draw_units(ctx, w.reshape({w.size(0), image_shape[0], image_shape[1], image_shape[2]}), units,
                                "krotov_weights.png");
  }

 private:
  torch::Tensor prepared(const torch::Tensor& x) const {
    const auto rows = x.flatten(1);
    return c_.unit_norm_inputs ? rows / rows.norm(2, {1}, true).clamp_min(1e-12) : rows;
  }

  torch::Tensor initial_weights(std::int64_t inputs, hebbkit::RunContext& ctx) const {
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(ctx.device());
    if (c_.init == Init::Uniform) return torch::rand({c_.hidden, inputs}, options);
    if (c_.init == Init::Normal) return torch::randn({c_.hidden, inputs}, options) * c_.sigma + c_.mu;
    return hebbkit::load_initial_weights(c_.init_file, {c_.hidden, inputs}, options);
  }

  Config c_;
  torch::Tensor signs_;  ///< +1 / -1 per input under Dale's law; undefined without it
  hebbkit::krotov::Hyper hyper_;
  std::unique_ptr<hebbkit::krotov::Synapses> synapses_;
};

}  // namespace

HEBBKIT_PLUGIN(KrotovRule)
