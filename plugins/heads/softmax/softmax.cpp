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
    torch::optim::Adam optimizer(linear_->parameters(),
                                 torch::optim::AdamOptions(lr_).weight_decay(weight_decay_));
    auto progress = ctx.progress("softmax", epochs_, "epoch");
    for (std::int64_t epoch = 0; epoch < epochs_; ++epoch) {
      const double lr = lr_ * std::pow(lr_decay_, static_cast<double>(epoch));
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
      double loss_sum = 0;
      std::int64_t correct = 0;
      for (const auto& idx : hebbkit::minibatches(x.size(0), batch_, /*shuffle=*/true, ctx.device())) {
        const auto xb = x.index_select(0, idx), yb = data.labels.index_select(0, idx);
        const auto logits = linear_->forward(xb);
        const auto loss = torch::nn::functional::cross_entropy(logits, yb);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>() * idx.size(0);
        correct += logits.argmax(1).eq(yb).sum().item<std::int64_t>();
        ctx.check_interrupted();
      }
      const double loss = loss_sum / x.size(0);
      hebbkit::check_finite(loss, fmt::format("softmax head loss at epoch {}", epoch));
      ctx.metric("loss", loss, epoch);
      ctx.metric("train_accuracy", double(correct) / x.size(0), epoch);
      ctx.metric("lr", lr, epoch);
      if (data.val_features.defined()) {
        torch::NoGradGuard no_grad;
        const double val = hebbkit::accuracy(linear_->forward(data.val_features.flatten(1)), data.val_labels);
        ctx.metric("val_accuracy", val, epoch);
      }
      progress->note("loss", loss);
      progress->advance();
    }
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override {
    return linear_->forward(features.flatten(1));
  }

  std::vector<hebbkit::NamedTensor> state() const override {
    return {{"weight", linear_->weight}, {"bias", linear_->bias}};
  }

 private:
  std::int64_t epochs_, batch_;
  double lr_, lr_decay_, weight_decay_;
  torch::nn::Linear linear_{nullptr};
};

}  // namespace

HEBBKIT_PLUGIN(SoftmaxHead)
