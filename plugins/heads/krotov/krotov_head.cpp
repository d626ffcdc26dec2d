// The Krotov-Hopfield paper's classifier: h = relu(x)^n on the frozen features,
// c = tanh(beta S h), loss sum_c |c - t|^m with t in {-1, +1}, Adam with decaying lr.
#include <hebbkit/hebbkit.hpp>
#include <torch/torch.h>

namespace {

class KrotovHead final : public hebbkit::FeatureHead {
 public:
  static constexpr const char* name = "krotov";
  static constexpr const char* summary = "tanh(beta S relu(x)^n) with |c - t|^m loss (Krotov & Hopfield 2019)";
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    return {
        real("n", 4.5, "power of the rectified features").at_least(0),
        real("m", 6.0, "power of the loss |c - t|^m").at_least(1),
        real("beta", 0.01, "inverse temperature inside tanh").at_least(0),
        integer("epochs", 300, "passes over the training features").at_least(1),
        integer("batch", 100, "minibatch size").at_least(1),
        real("lr", 1e-3, "Adam learning rate at epoch 0").at_least(0),
        real("lr_decay", 0.99, "learning rate is multiplied by this after every epoch").in_range(0, 1),
    };
  }

  explicit KrotovHead(const hebbkit::Params& p)
      : n_(p.real("n")), m_(p.real("m")), beta_(p.real("beta")), epochs_(p.integer("epochs")),
        batch_(p.integer("batch")), lr_(p.real("lr")), lr_decay_(p.real("lr_decay")) {}

  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    // relu(x)^n is fixed, so it is computed once for the whole training set.
    const auto h = activate(data.features);
    const auto h_val = data.val_features.defined() ? activate(data.val_features) : torch::Tensor();
    const auto targets = torch::full({h.size(0), data.num_classes}, -1.0, h.options())
                             .scatter_(1, data.labels.unsqueeze(1), 1.0);
    classes_ = torch::randn({data.num_classes, h.size(1)}, h.options()).mul_(0.01).requires_grad_(true);
    torch::optim::Adam optimizer({classes_}, torch::optim::AdamOptions(lr_));
    auto progress = ctx.progress("krotov head", epochs_, "epoch");
    for (std::int64_t epoch = 0; epoch < epochs_; ++epoch) {
      const double lr = lr_ * std::pow(lr_decay_, static_cast<double>(epoch));
      static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[0].options()).lr(lr);
      double loss_sum = 0;
      std::int64_t correct = 0;
      for (const auto& idx : hebbkit::minibatches(h.size(0), batch_, true, ctx.device())) {
        const auto c = classify(h.index_select(0, idx));
        const auto loss = (c - targets.index_select(0, idx)).abs().pow(m_).sum(1).mean();
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>() * idx.size(0);
        correct += c.argmax(1).eq(data.labels.index_select(0, idx)).sum().item<std::int64_t>();
      }
      const double loss = loss_sum / h.size(0);
      hebbkit::check_finite(loss, fmt::format("krotov head loss at epoch {}", epoch),
                            fmt::format("relu(x)^{} overflows unless the inputs are centred and unit-normalised "
                                        "(dataset.preprocess: [flatten, center, unit_norm])", n_));
      ctx.metric("loss", loss, epoch);
      ctx.metric("train_accuracy", double(correct) / h.size(0), epoch);
      ctx.metric("lr", lr, epoch);
      if (h_val.defined()) {
        torch::NoGradGuard no_grad;
        ctx.metric("val_accuracy", hebbkit::accuracy(classify(h_val), data.val_labels), epoch);
      }
      progress->note("loss", loss);
      progress->advance();
    }
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override { return classify(activate(features)); }

  std::vector<hebbkit::NamedTensor> state() const override { return {{"S", classes_}}; }

 private:
  torch::Tensor activate(const torch::Tensor& features) const { return torch::relu(features.flatten(1)).pow(n_); }
  torch::Tensor classify(const torch::Tensor& h) const { return torch::tanh(beta_ * torch::mm(h, classes_.t())); }

  double n_, m_, beta_;
  std::int64_t epochs_, batch_;
  double lr_, lr_decay_;
  torch::Tensor classes_;
};

}  // namespace

HEBBKIT_PLUGIN(KrotovHead)
