// Softmax head: multinomial logistic regression (linear + cross-entropy) on frozen
// features, trained with Adam or SGD and an exponentially decaying learning rate. Optional
// dropout on the features, and a parameter-free batch norm in front (per channel of conv
// features, per feature otherwise), as biopytorch puts before its classifier.
#include <hebbkit/collective.hpp>
#include <hebbkit/hebbkit.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

namespace {

class SoftmaxHead final : public hebbkit::FeatureHead {
 public:
  static constexpr const char* name = "softmax";
  static constexpr const char* summary = "linear layer + cross-entropy (optional dropout and batch norm), Adam or SGD";
  struct Config {
    std::int64_t epochs = hebbkit::param("epochs", 20, "passes over the training features").at_least(1);
    std::int64_t batch = hebbkit::param("batch", 100, "minibatch size").at_least(1);
    hebbkit::OptimizerParams optimizer;
    double dropout = hebbkit::param("dropout", 0.0, "dropout on the features while training").in_range(0, 0.95);
    bool batch_norm = hebbkit::param("batch_norm", false,
                                     "normalise the features by batch statistics while training (running averages "
                                     "after), no scale or shift; per channel for conv features (N, C, H, W)");
    bool mirror = hebbkit::param("mirror", false,
                                 "train on each image or its mirror image (left-right), chosen at random for every "
                                 "minibatch, as a loader's RandomHorizontalFlip (the mirrored training set's features "
                                 "are computed once more, and held beside the others)");
  };

  explicit SoftmaxHead(const Config& config) : c_(config) {}

  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    world_ = &ctx.collective();
    // Batch norm needs the channels of conv features; the linear layer flattens.
    const auto x = c_.batch_norm ? data.features : data.features.flatten(1);
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(ctx.device());
    if (c_.batch_norm) norm_ = hebbkit::ChannelNorm(x.size(1), options);
    linear_ = torch::nn::Linear(x[0].numel(), data.num_classes);
    linear_->to(ctx.device());
    hebbkit::ClassifierTraining training{"softmax head", c_.epochs, c_.batch, c_.optimizer};
    training.train_mode = [&](bool on) { training_ = on; };
    // The gradient is short: d loss / d logits = (softmax - onehot) / B, and batch norm and
    // dropout act on the fixed features, before the only parameters. Dropout off the CPU
    // draws from a generator that fit_classifier's check cannot replay: autograd there.
    if (c_.dropout == 0 || ctx.device().is_cpu())
      training.closed_form = [this](const hebbkit::RowSelection& xb, const torch::Tensor& yb) {
        return closed_form_step(xb, yb);
      };
    if (c_.batch_norm)
      for (auto& [name, t] : norm_.state("feature_norm")) training.buffers.push_back(t);
    if (c_.mirror) {
      if (!data.mirrored_features.defined())
        throw hebbkit::DataError("softmax head: mirror is on, but the host gave no mirrored features");
      training.mirrored = c_.batch_norm ? data.mirrored_features : data.mirrored_features.flatten(1);
    }
    torch::Tensor val;
    if (data.val_features.defined()) val = c_.batch_norm ? data.val_features : data.val_features.flatten(1);
    hebbkit::fit_classifier(
        linear_->parameters(), [&](const torch::Tensor& xb) { return logits_from_features(xb); },
        [](const torch::Tensor& logits, const torch::Tensor& y) { return torch::nn::functional::cross_entropy(logits, y); },
        x, data.labels, val, data.val_labels, training, ctx);
    training_ = false;
    world_ = &hebbkit::single_process();
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override {
    return linear_->forward(logits_input(features));
  }

  // fit_classifier shards and reduces, and gives dropout the global minibatch's masks;
  // batch norm takes the global minibatch's statistics.
  std::string why_not_data_parallel() const override { return ""; }
  bool wants_mirrored_features() const override { return c_.mirror; }

  std::vector<hebbkit::NamedTensor> state() const override {
    std::vector<hebbkit::NamedTensor> out = {{"weight", linear_->weight}, {"bias", linear_->bias}};
    if (c_.batch_norm)
      for (auto& t : norm_.state("feature_norm")) out.push_back(std::move(t));
    return out;
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
    if (c_.batch_norm) norm_.load_state(state, "feature_norm", hebbkit::find_state(state, "feature_norm_mean").size(0));
  }

  std::vector<torch::Tensor> parameters() override { return linear_->parameters(); }

 private:
  hebbkit::ClosedFormStep closed_form_step(const hebbkit::RowSelection& rows, const torch::Tensor& labels) {
    // Batch norm and dropout make new rows (as logits_from_features does in training); the
    // plain head reads the training set's rows in place.
    const auto x = c_.batch_norm || c_.dropout > 0
                       ? hebbkit::RowSelection{logits_input(rows.gathered()), {}}
                       : rows;
    const auto logits = hebbkit::narrow_linear(x, linear_->weight, linear_->bias);
    auto ce = hebbkit::cross_entropy_step(logits, labels);
    return {logits, std::move(ce.loss), {hebbkit::narrow_linear_weight_gradient(ce.grad, x), ce.grad.sum(0)},
            ce.correct};
  }

  // The linear layer's input: features normalised, flattened and dropped out as the mode says.
  torch::Tensor logits_input(const torch::Tensor& features) {
    auto x = features;
    if (c_.batch_norm) x = training_ ? norm_.train(x, *world_) : norm_.apply(x);
    x = x.flatten(1);
    if (training_ && c_.dropout > 0) x = hebbkit::dropout(x, c_.dropout, /*train=*/true);
    return x;
  }

  Config c_;
  bool training_ = false;
  hebbkit::Collective* world_ = &hebbkit::single_process();  ///< while fit() trains
  hebbkit::ChannelNorm norm_;
  torch::nn::Linear linear_{nullptr};
};

}  // namespace

HEBBKIT_PLUGIN(SoftmaxHead)
