// Forward-Forward's own classifier: overlay each candidate label on the input, run the
// whole stack, and predict the label with the largest total goodness. The logits are the
// goodness sums, differentiable in the input image, so attacks can target this head.
#include <hebbkit/goodness.hpp>
#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

namespace {

class GoodnessHead final : public hebbkit::Head {
 public:
  static constexpr const char* name = "ff_goodness";
  static constexpr const char* summary = "Forward-Forward: predict the label whose overlay gives the most goodness";
  struct Config {
    bool skip_first = hebbkit::param("skip_first", false, "leave the first layer's goodness out of the sum");
  };
  explicit GoodnessHead(const Config& c) : skip_first_(c.skip_first) {}

  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    // Nothing to learn: the layers were trained for this. Report how well it predicts.
    num_classes_ = data.num_classes;
    torch::NoGradGuard no_grad;
    const std::int64_t n = std::min<std::int64_t>(data.images.size(0), 10000);
    const double train = hebbkit::accuracy(logits(data.images.slice(0, 0, n), data.encoder), data.labels.slice(0, 0, n));
    ctx.metric("train_accuracy_first_10k", train, 0);
    ctx.info("goodness prediction on the first {} training images: {:.2f}%", n, 100 * train);
  }

  torch::Tensor logits(const torch::Tensor& images, hebbkit::Encoder& encoder) override {
    std::vector<hebbkit::Rule*> stack;
    for (std::size_t i = 0; i < encoder.layer_count(); ++i) stack.push_back(&encoder.layer(i));
    return hebbkit::goodness_scores(stack, encoder.prepare(images), num_classes_, skip_first_ ? 1 : 0);
  }

  // It learns nothing from the data.
  std::string why_not_data_parallel() const override { return ""; }

  std::vector<hebbkit::NamedTensor> state() const override {
    return {{"classes", torch::full({1}, num_classes_, torch::kInt64)}};
  }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& classes = hebbkit::find_state(state, "classes");
    if (classes.numel() != 1 || classes.scalar_type() != torch::kInt64)
      throw hebbkit::DataError("ff_goodness: 'classes' must hold one integer");
    num_classes_ = classes.item<std::int64_t>();
  }

 private:
  bool skip_first_;
  std::int64_t num_classes_ = 0;
};

}  // namespace

HEBBKIT_PLUGIN(GoodnessHead)
