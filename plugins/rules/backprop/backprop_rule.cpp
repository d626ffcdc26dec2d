// The backprop baseline: a network trained end to end with autograd through its layers
// and its own classifier (mlp, the PyTorch MNIST simple_cnn, or a batch-norm + linear
// control). Its output is the logits; pair it with the `readout` head so that
// evaluation and attacks use this network, not a head retrained on its features.
#include <hebbkit/hebbkit.hpp>
#include <hebbkit/initial_weights.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

#include "backprop_models.hpp"

namespace {

class Backprop final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "backprop";
  static constexpr const char* summary = "end-to-end backprop baseline: mlp, simple_cnn, control or conv blocks, with its own output";
  struct Config {
    hebbkit::backprop::Architecture arch;
    hebbkit::OptimizerParams optimizer{hebbkit::OptimizerDefaults().momentum(0.9)};
    std::int64_t epochs = hebbkit::param("epochs", 10, "passes over the training set").at_least(0);
    std::int64_t batch = hebbkit::param("batch", 64, "minibatch size").at_least(1);
    std::string init_prefix = hebbkit::param("init_prefix", "",
                                             "start from PREFIX_<parameter>.npy for every parameter and buffer, as a "
                                             "run's model/ holds them (PREFIX runs/X/model/layer0); empty: torch's "
                                             "initialisation");
  };

  Backprop(const Config& config, const hebbkit::Params& params) : c_(config) {
    hebbkit::check_init_prefix(params, !c_.init_prefix.empty(), c_.init_prefix);
    hebbkit::backprop::check(c_.arch, params);
  }

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    input_shape_ = data.inputs.sample_shape();
    net_ = hebbkit::backprop::build(c_.arch, input_shape_, data.num_classes);
    if (!c_.init_prefix.empty()) {
      std::vector<hebbkit::NamedTensor> fresh;
      for (const auto& item : net_->named_parameters()) fresh.emplace_back(item.key(), item.value());
      for (const auto& item : net_->named_buffers()) fresh.emplace_back(item.key(), item.value());
      hebbkit::load_initial_state(c_.init_prefix, fresh);
      ctx.info("starting from {}_*.npy", c_.init_prefix);
    }
    net_->to(ctx.device());
    classes_ = data.num_classes;
    std::int64_t trained = 0;
    for (const auto& p : net_->parameters()) trained += p.numel();
    ctx.info("{} on inputs {}: {} trained parameters; {} lr={} for {} epochs of batch {}", model_name(),
             fmt::join(input_shape_, "x"), trained, hebbkit::choice_name(c_.optimizer.optimizer), c_.optimizer.lr, c_.epochs, c_.batch);
    hebbkit::ClassifierTraining training;
    training.label = "backprop " + model_name();
    training.epochs = c_.epochs;
    training.batch = c_.batch;
    training.optimizer = c_.optimizer;
    training.train_mode = [this](bool on) { net_->train(on); };
    training.buffers = net_->buffers();
    hebbkit::fit_classifier(
        net_->parameters(), [this](const torch::Tensor& x) { return net_->forward(x); },
        [](const torch::Tensor& logits, const torch::Tensor& y) { return torch::nn::functional::cross_entropy(logits, y); },
        data.inputs, data.val, training, ctx);
    net_->eval();
  }

  // fit_classifier shards the minibatches and sums the gradients, and mlp's and conv's
  // dropout draws the global minibatch's masks; torch's batch norm statistics and the
  // simple_cnn example's torch dropout would still be each process's.
  std::string why_not_data_parallel() const override {
    using hebbkit::backprop::Model;
    if (c_.arch.model == Model::Control) return "model: control (its batch norm's statistics would be each process's)";
    if (c_.arch.model == Model::Conv && c_.arch.conv.input_norm)
      return "input_norm: true (batch statistics would be each process's)";
    if (c_.arch.model == Model::SimpleCnn && c_.arch.dropout > 0)
      return "model: simple_cnn with dropout > 0 (its dropout2d masks would be drawn per process)";
    return "";
  }

  // mlp: weights, gradients and the optimizer's two moments; the output width is the
  // number of classes, which only the data tells.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    if (c_.arch.model != hebbkit::backprop::Model::Mlp) return std::nullopt;
    std::int64_t inputs = 1;
    for (const auto d : input_shape) inputs *= d;
    double params = 0;
    std::int64_t below = inputs;
    for (const auto width : c_.arch.hidden) params += static_cast<double>(below + 1) * static_cast<double>(width), below = width;
    return hebbkit::LayerPlan{{}, 16 * params, "hidden",
                              fmt::format("an mlp of widths [{}] on {} inputs", fmt::join(c_.arch.hidden, ", "), inputs)};
  }

  torch::Tensor forward(const torch::Tensor& x) override { return net_->forward(x); }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"input_shape", torch::tensor(input_shape_, torch::kInt64)},
                                             {"classes", torch::tensor({classes_}, torch::kInt64)}};
    for (const auto& item : net_->named_parameters()) out.emplace_back(item.key(), item.value());
    for (const auto& item : net_->named_buffers()) out.emplace_back(item.key(), item.value());
    return out;
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto shape = hebbkit::find_state(state, "input_shape").to(torch::kCPU);
    input_shape_.assign(shape.data_ptr<std::int64_t>(), shape.data_ptr<std::int64_t>() + shape.numel());
    classes_ = hebbkit::find_state(state, "classes").item<std::int64_t>();
    {
      hebbkit::GeneratorGuard keep;  // the fresh initial weights are overwritten below
      net_ = hebbkit::backprop::build(c_.arch, input_shape_, classes_);
    }
    torch::NoGradGuard no_grad;
    const auto device = hebbkit::find_state(state, "classes").device();
    net_->to(device);
    const auto copy = [&](const std::string& key, torch::Tensor& target) {
      const auto& saved = hebbkit::find_state(state, key);
      if (saved.sizes() != target.sizes())
        throw hebbkit::DataError(fmt::format("backprop {}: saved shape {}, the model has {}", key,
                                             fmt::join(saved.sizes(), "x"), fmt::join(target.sizes(), "x")));
      target.copy_(saved);
    };
    for (auto& item : net_->named_parameters()) copy(item.key(), item.value());
    for (auto& item : net_->named_buffers()) copy(item.key(), item.value());
    net_->eval();
  }

  std::vector<torch::Tensor> parameters() override { return net_->parameters(); }

 private:
  std::string model_name() const { return hebbkit::choice_name(c_.arch.model); }

  Config c_;
  std::vector<std::int64_t> input_shape_;
  std::int64_t classes_ = 0;
  torch::nn::Sequential net_{nullptr};
};

}  // namespace

HEBBKIT_PLUGIN(Backprop)
