// Forward-Forward's own classifier: overlay each candidate label on the input, run the
// whole stack, and predict the label with the largest total goodness. The logits are the
// goodness sums, differentiable in the input image, so attacks can target this head.
#include <hebbkit/hebbkit.hpp>
#include <torch/torch.h>

namespace {

class GoodnessHead final : public hebbkit::Head {
 public:
  static constexpr const char* name = "ff_goodness";
  static constexpr const char* summary = "Forward-Forward: predict the label whose overlay gives the most goodness";
  static hebbkit::ParamSchema schema() {
    return {hebbkit::param::boolean("skip_first", false, "leave the first layer's goodness out of the sum")};
  }
  explicit GoodnessHead(const hebbkit::Params& p) : skip_first_(p.boolean("skip_first")) {}

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
    const auto prepared = encoder.prepare(images);
    std::vector<torch::Tensor> scores;
    for (std::int64_t c = 0; c < num_classes_; ++c) {
      const auto labels = torch::full({images.size(0)}, c, torch::TensorOptions().dtype(torch::kInt64).device(images.device()));
      torch::Tensor h = hebbkit::overlay_label(prepared, labels, num_classes_);
      auto total = torch::zeros({images.size(0)}, prepared.options());
      std::size_t layer_number = 0;
      for (std::size_t i = 0; i < encoder.layer_count(); ++i) {
        auto& rule = encoder.layer(i);
        for (const auto& a : rule.activations(h))
          if (!(skip_first_ && layer_number++ == 0)) total = total + a.pow(2).mean(1);
        h = rule.forward(h);
      }
      scores.push_back(total);
    }
    return torch::stack(scores, 1);
  }

 private:
  bool skip_first_;
  std::int64_t num_classes_ = 0;
};

}  // namespace

HEBBKIT_PLUGIN(GoodnessHead)
