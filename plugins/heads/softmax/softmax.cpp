// Softmax head: multinomial logistic regression (linear + cross-entropy) on frozen
// features, trained with Adam and an exponentially decaying learning rate.
#include <hebbkit/hebbkit.hpp>
#include <torch/torch.h>

namespace {

class SoftmaxHead final : public hebbkit::FeatureHead {
 public:
  static constexpr const char* name = "softmax";
  static constexpr const char* summary = "linear layer + cross-entropy, Adam with exponential lr decay";
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    return {
        integer("epochs", 20, "passes over the training features").at_least(1),
        integer("batch", 100, "minibatch size").at_least(1),
        real("lr", 1e-3, "Adam learning rate at epoch 0").at_least(0),
        real("lr_decay", 1.0, "learning rate is multiplied by this after every epoch").in_range(0, 1),
        real("weight_decay", 0.0, "L2 penalty (Adam weight_decay)").at_least(0),
    };
  }

  explicit SoftmaxHead(const hebbkit::Params& p)
      : epochs_(p.integer("epochs")), batch_(p.integer("batch")), lr_(p.real("lr")),
        lr_decay_(p.real("lr_decay")), weight_decay_(p.real("weight_decay")) {}

  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    const auto x = data.features.flatten(1);
    linear_ = torch::nn::Linear(x.size(1), data.num_classes);
    linear_->to(ctx.device());
    hebbkit::fit_classifier(
        linear_->parameters(), [&](const torch::Tensor& xb) { return linear_->forward(xb); },
        [](const torch::Tensor& logits, const torch::Tensor& y) { return torch::nn::functional::cross_entropy(logits, y); },
        x, data.labels, data.val_features.defined() ? data.val_features.flatten(1) : torch::Tensor(), data.val_labels,
        {"softmax head", epochs_, batch_, lr_, lr_decay_, weight_decay_, ""}, ctx);
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override {
    return linear_->forward(features.flatten(1));
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    return {{"weight", linear_->weight}, {"bias", linear_->bias}};
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& weight = hebbkit::find_state(state, "weight");
    const auto& bias = hebbkit::find_state(state, "bias");
    if (weight.dim() != 2 || bias.dim() != 1 || bias.size(0) != weight.size(0))
      throw hebbkit::DataError(fmt::format("softmax weight {} and bias {} do not make a linear layer",
                                           fmt::join(weight.sizes(), "x"), fmt::join(bias.sizes(), "x")));
    linear_ = torch::nn::Linear(weight.size(1), weight.size(0));
    linear_->to(weight.device());
    torch::NoGradGuard no_grad;
    linear_->weight.copy_(weight);
    linear_->bias.copy_(bias);
  }

  std::vector<torch::Tensor> parameters() override { return linear_->parameters(); }

 private:
  std::int64_t epochs_, batch_;
  double lr_, lr_decay_, weight_decay_;
  torch::nn::Linear linear_{nullptr};
};

}  // namespace

HEBBKIT_PLUGIN(SoftmaxHead)
