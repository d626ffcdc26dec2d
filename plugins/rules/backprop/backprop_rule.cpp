// The backprop baseline: a network trained end to end with autograd through its layers
// and its own classifier (mlp, the PyTorch MNIST simple_cnn, or a batch-norm + linear
// control). Its output is the logits; pair it with the `readout` head so that
// evaluation and attacks use this network, not a head retrained on its features.
#include <hebbkit/hebbkit.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

#include "backprop_models.hpp"

namespace {

class Backprop final : public hebbkit::Rule {
 public:
  static constexpr const char* name = "backprop";
  static constexpr const char* summary = "end-to-end backprop baseline: mlp, simple_cnn or control, with its own output";
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    return {
        choice("model", "mlp", {"mlp", "simple_cnn", "control"},
               "mlp: ReLU layers of `hidden` widths; simple_cnn: the PyTorch MNIST example; control: batch norm + linear"),
        integers("hidden", {2000}, "mlp: widths of the hidden layers").at_least(1),
        real("dropout", 0.0, "mlp: dropout after each hidden layer; simple_cnn: its dropout2d and dropout (0.5 in the example)")
            .in_range(0, 0.99),
        choice("optimizer", "adam", {"adam", "sgd"}, "adam, or sgd with momentum"),
        real("lr", 1e-3, "learning rate").at_least(0),
        real("momentum", 0.9, "sgd: momentum").in_range(0, 1),
        real("weight_decay", 0.0, "L2 penalty").at_least(0),
        real("lr_decay", 1.0, "learning rate multiplied by this every lr_step epochs").in_range(0, 1),
        integer("lr_step", 1, "1: exponential schedule; more: step schedule").at_least(1),
        integer("epochs", 10, "passes over the training set").at_least(0),
        integer("batch", 64, "minibatch size").at_least(1),
    };
  }

  explicit Backprop(const hebbkit::Params& p)
      : arch_{p.string("model"), p.integers("hidden"), p.real("dropout")}, optimizer_(p.string("optimizer")),
        lr_(p.real("lr")), momentum_(p.real("momentum")), weight_decay_(p.real("weight_decay")),
        lr_decay_(p.real("lr_decay")), lr_step_(p.integer("lr_step")), epochs_(p.integer("epochs")),
        batch_(p.integer("batch")) {}

  void fit(const hebbkit::LayerFit& data, hebbkit::RunContext& ctx) override {
    input_shape_ = data.inputs.sample_shape();
    net_ = hebbkit::backprop::build(arch_, input_shape_, data.num_classes);
    net_->to(ctx.device());
    classes_ = data.num_classes;
    std::int64_t trained = 0;
    for (const auto& p : net_->parameters()) trained += p.numel();
    ctx.info("{} on inputs {}: {} trained parameters; {} lr={} for {} epochs of batch {}", arch_.model,
             fmt::join(input_shape_, "x"), trained, optimizer_, lr_, epochs_, batch_);
    hebbkit::ClassifierTraining training;
    training.label = "backprop " + arch_.model;
    training.epochs = epochs_;
    training.batch = batch_;
    training.lr = lr_;
    training.lr_decay = lr_decay_;
    training.lr_step = lr_step_;
    training.weight_decay = weight_decay_;
    training.optimizer = optimizer_;
    training.momentum = momentum_;
    training.train_mode = [this](bool on) { net_->train(on); };
    training.buffers = net_->buffers();
    hebbkit::fit_classifier(
        net_->parameters(), [this](const torch::Tensor& x) { return net_->forward(x); },
        [](const torch::Tensor& logits, const torch::Tensor& y) { return torch::nn::functional::cross_entropy(logits, y); },
        data.inputs, data.val, training, ctx);
    net_->eval();
  }

  // mlp: weights, gradients and the optimizer's two moments; the output width is the
  // number of classes, which only the data tells.
  std::optional<hebbkit::LayerPlan> plan(const std::vector<std::int64_t>& input_shape) const override {
    if (arch_.model != "mlp") return std::nullopt;
    std::int64_t inputs = 1;
    for (const auto d : input_shape) inputs *= d;
    double params = 0;
    std::int64_t below = inputs;
    for (const auto width : arch_.hidden) params += static_cast<double>(below + 1) * static_cast<double>(width), below = width;
    return hebbkit::LayerPlan{{}, 16 * params, "hidden",
                              fmt::format("an mlp of widths [{}] on {} inputs", fmt::join(arch_.hidden, ", "), inputs)};
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
      net_ = hebbkit::backprop::build(arch_, input_shape_, classes_);
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
  hebbkit::backprop::Architecture arch_;
  std::string optimizer_;
  double lr_, momentum_, weight_decay_, lr_decay_;
  std::int64_t lr_step_, epochs_, batch_;
  std::vector<std::int64_t> input_shape_;
  std::int64_t classes_ = 0;
  torch::nn::Sequential net_{nullptr};
};

}  // namespace

HEBBKIT_PLUGIN(Backprop)
