// Krotov-Hopfield rule: unsupervised, local, competing hidden units. The layer's output
// is relu(W v)^n; the update itself is in krotov_update.cpp.
#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

#include "krotov_training.hpp"
#include "krotov_update.hpp"

namespace {

class KrotovRule final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "krotov";
  static constexpr const char* summary = "Krotov-Hopfield competing hidden units (PNAS 2019), unsupervised";
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    hebbkit::ParamSchema s = {
        integer("hidden", 2000, "number of hidden units").at_least(1),
        real("p", 3.0, "Lebesgue norm power of the synapses").at_least(2),
        integer("k", 7, "rank of the unit that gets anti-Hebbian learning (2..hidden)").at_least(2),
        real("delta", 0.4, "strength of anti-Hebbian learning").at_least(0),
        integer("epochs", 100, "passes over the training set").at_least(0),
        integer("batch", 100, "minibatch size").at_least(1),
        real("prec", 1e-30, "floor of the update normaliser").at_least(0),
        real("homeostasis", 0.0,
             "units are ranked by current minus a threshold that rises this much per win and falls by the fair "
             "share (batch / hidden) per minibatch, so no unit stays dead; 0: the published rule")
            .at_least(0),
        choice("init", "normal", {"normal", "uniform", "npy"}, "initial synapses: normal(mu, sigma), uniform [0, 1), or init_file"),
        real("mu", 0.0, "mean of the normal initialisation"),
        real("sigma", 1.0, "standard deviation of the normal initialisation").at_least(0),
        string("init_file", "", "a .npy of shape (hidden, inputs), e.g. a previous run's artifacts/layer0_weights.npy"),
        boolean("shuffle", true, "reshuffle the training set every epoch"),
        real("n", 1.0, "output power: the layer outputs relu(W v)^n").at_least(0).make_readout(),
        integer("figure_units", 100, "units drawn in the weight grid").at_least(1).make_readout(),
        boolean("unit_norm_inputs", false,
                "scale every input row to L2 norm 1 before the layer (as the first layer's preprocessing does; for "
                "layers stacked on another layer's outputs)"),
        real("inhibitory", 0.0,
             "Dale's law: this fraction of the layer's inputs (chosen by the seed) is inhibitory, their weights stay "
             "<= 0 and the others' >= 0; 0: no sign constraint")
            .in_range(0, 1),
    };
    for (auto& spec : hebbkit::krotov::Schedule::schema(0.04)) s.push_back(std::move(spec));
    return s;
  }

  explicit KrotovRule(const hebbkit::Params& p)
      : hidden_(p.integer("hidden")), epochs_(p.integer("epochs")), batch_(p.integer("batch")),
        schedule_(hebbkit::krotov::Schedule::from(p)), init_(p.string("init")), mu_(p.real("mu")), sigma_(p.real("sigma")),
        init_file_(p.string("init_file")), shuffle_(p.boolean("shuffle")), n_(p.real("n")),
        figure_units_(p.integer("figure_units")), unit_norm_inputs_(p.boolean("unit_norm_inputs")),
        inhibitory_(p.real("inhibitory")) {
    hyper_.p = p.real("p");
    hyper_.k = p.integer("k");
    hyper_.delta = p.real("delta");
    hyper_.prec = p.real("prec");
    hyper_.homeostasis = p.real("homeostasis");
    if (hyper_.k > hidden_) p.fail("k", fmt::format("k = {} must not exceed hidden = {}", hyper_.k, hidden_));
    if (init_ == "npy" && init_file_.empty()) p.fail("init_file", "init: npy needs init_file: a .npy file");
    if (init_ != "npy" && !init_file_.empty())
      p.fail("init_file", fmt::format("init_file is only read with init: npy (init is '{}')", init_));
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    auto& source = data.inputs;
    std::int64_t inputs = 1;
    for (const auto d : source.sample_shape()) inputs *= d;
    const auto needs = *plan(source.sample_shape());  // for data sets whose shape validate did not know
    hebbkit::check_fits_in_memory(needs.bytes, fmt::format("layers.{}.rule.hidden = {}", data.index, hidden_), needs.what);
    auto w = initial_weights(inputs, ctx);
    if (inhibitory_ > 0) {
      signs_ = hebbkit::krotov::dale_signs(inputs, inhibitory_, w.options());
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
    ctx.info("{} units, {} inputs, p={} k={} delta={} eps0={} ({}) batch={}{} for {} epochs{}", hidden_, inputs,
             hyper_.p, hyper_.k, hyper_.delta, schedule_.eps0, schedule_.kind, batch_,
             hyper_.homeostasis > 0 ? fmt::format(" homeostasis={}", hyper_.homeostasis) : std::string(), epochs_,
             first_epoch > 0 ? fmt::format(", continuing after epoch {}", first_epoch) : std::string());
    hebbkit::krotov::Learner learner{
        "krotov",
        [&](const torch::Tensor& x, double eps) {
          const auto touched = synapses_->step(prepared(x.to(torch::kFloat32)).contiguous(), eps);
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
    hebbkit::krotov::train_epochs(source, ctx, learner, schedule_, batch_, shuffle_, first_epoch);
    hebbkit::krotov::log_convergence(ctx, synapses_->norm_error());
  }

  // The synapses, their cached powers and the update rows, in float.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    std::int64_t inputs = 1;
    for (const auto d : input_shape) inputs *= d;
    return hebbkit::LayerPlan{{hidden_}, 3.0 * 4 * static_cast<double>(hidden_) * static_cast<double>(inputs), "hidden",
                              fmt::format("{} units x {} inputs", hidden_, inputs)};
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    // In place: the product is fresh, and mm's backward does not read it.
    const auto currents = torch::mm(prepared(x), synapses_->weights().t()).relu_();
    return n_ == 1.0 ? currents : currents.pow(n_);
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"weights", synapses_->weights()}};
    if (signs_.defined()) out.emplace_back("input_signs", signs_);
    return out;
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& w = hebbkit::find_state(state, "weights");
    if (w.dim() != 2 || w.size(0) != hidden_)
      throw hebbkit::DataError(fmt::format("krotov weights have shape {}, the layer has hidden = {} units",
                                           fmt::join(w.sizes(), "x"), hidden_));
    synapses_ = std::make_unique<hebbkit::krotov::Synapses>(w.to(torch::kFloat32).contiguous(), hyper_);
    if (inhibitory_ > 0) signs_ = hebbkit::find_state(state, "input_signs").to(torch::kFloat32);
  }

  void figures(hebbkit::RunContext& ctx, const std::vector<std::int64_t>& image_shape) override {
    const auto w = synapses_->weights().detach().to(torch::kCPU);
    const std::int64_t units = std::min<std::int64_t>(figure_units_, w.size(0));
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
    return unit_norm_inputs_ ? rows / rows.norm(2, {1}, true).clamp_min(1e-12) : rows;
  }

  torch::Tensor initial_weights(std::int64_t inputs, hebbkit::RunContext& ctx) const {
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(ctx.device());
    if (init_ == "uniform") return torch::rand({hidden_, inputs}, options);
    if (init_ == "normal") return torch::randn({hidden_, inputs}, options) * sigma_ + mu_;
    auto w = hebbkit::io::load_npy(init_file_).to(options);
    if (w.dim() != 2 || w.size(0) != hidden_ || w.size(1) != inputs)
      throw hebbkit::DataError(fmt::format("{}: init_file has shape {}, the layer needs ({}, {})", init_file_,
                                           fmt::join(w.sizes(), "x"), hidden_, inputs));
    return w.contiguous();
  }

  std::int64_t hidden_, epochs_, batch_;
  hebbkit::krotov::Schedule schedule_;
  std::string init_;
  double mu_, sigma_;
  std::string init_file_;
  bool shuffle_;
  double n_;
  std::int64_t figure_units_;
  bool unit_norm_inputs_;
  double inhibitory_;
  torch::Tensor signs_;  ///< +1 / -1 per input under Dale's law; undefined without it
  hebbkit::krotov::Hyper hyper_;
  std::unique_ptr<hebbkit::krotov::Synapses> synapses_;
};

}  // namespace

HEBBKIT_PLUGIN(KrotovRule)
