// Square Attack, L-infinity (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020): a
// gradient-free random search. Start from vertical stripes of +-epsilon; each query moves
// one random square window of every image still classified correctly to a new +-epsilon
// per channel, and keeps it if the margin loss improved. The window shrinks on the
// paper's schedule. It needs no gradient, so it sees through saturated or masked ones:
// a Square attack beating PGD is how gradient masking shows.
#include <hebbkit/attack.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>
#include <torch/types.h>

namespace {

// The losses a gradient-free search can use (not the model's own, which may need labels' targets).
enum class SearchLoss { Margin, CrossEntropy };
hebbkit::Choices<SearchLoss> param_choices(SearchLoss) {
  return {{SearchLoss::Margin, "margin"}, {SearchLoss::CrossEntropy, "ce"}};
}

class Square final : public hebbkit::Attack {
 public:
  static constexpr const char* name = "square";
  static constexpr const char* summary = "Square Attack (L-infinity): gradient-free random search with a query budget";
  struct Config {
    std::int64_t queries = hebbkit::param("queries", 1000, "model evaluations per image at most").at_least(1);
    double p_init = hebbkit::param("p_init", 0.05,
                                   "initial fraction of the pixels changed per query (the paper: 0.05; 0.3 or more "
                                   "for MNIST)")
                        .in_range(1e-6, 1.0);
    SearchLoss loss =
        hebbkit::param("loss", SearchLoss::Margin, "what the search maximises: the logit margin or cross-entropy");
  };
  explicit Square(const Config& c)
      : queries_(c.queries), p_init_(c.p_init),
        loss_(c.loss == SearchLoss::Margin ? hebbkit::AttackLoss::Margin : hebbkit::AttackLoss::CrossEntropy) {}

  hebbkit::AttackOutcome perturb(hebbkit::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                                 double epsilon, hebbkit::RunContext& ctx) override {
    torch::NoGradGuard no_grad;
    if (images.dim() != 4)
      throw hebbkit::DataError("square: images must be (N, C, H, W)");
    const std::int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    const auto options = images.options();
    // Vertical stripes: one +-epsilon per channel and column.
    auto best = (images + epsilon * random_sign({n, c, 1, w}, options)).clamp(0.0, 1.0);
    auto [objective, fooled] = evaluate(model, best, labels);
    for (std::int64_t query = 1; query < queries_ && epsilon > 0; ++query) {
      const auto active = fooled.logical_not().nonzero().squeeze(1);
      if (active.numel() == 0) break;
      const auto clean = images.index_select(0, active);
      auto candidate = best.index_select(0, active);
      auto delta = candidate - clean;
      const std::int64_t s = window(query, c, h, w);
      const auto rows = torch::randint(0, h - s + 1, {active.size(0)}, torch::kInt64);
      const auto cols = torch::randint(0, w - s + 1, {active.size(0)}, torch::kInt64);
      const auto signs = epsilon * random_sign({active.size(0), c, 1, 1}, options);
      for (std::int64_t i = 0; i < active.size(0); ++i) {
        const auto r = rows[i].item<std::int64_t>(), q = cols[i].item<std::int64_t>();
        delta[i].slice(1, r, r + s).slice(2, q, q + s).copy_(signs[i].expand({c, s, s}));
      }
      candidate = (clean + delta).clamp(0.0, 1.0);
      const auto [new_objective, new_fooled] = evaluate(model, candidate, labels.index_select(0, active));
      const auto improved = new_objective > objective.index_select(0, active);
      const auto accepted = active.masked_select(improved);
      if (accepted.numel() > 0) {
        const auto kept = improved.nonzero().squeeze(1);
        best.index_copy_(0, accepted, candidate.index_select(0, kept));
        objective.index_copy_(0, accepted, new_objective.index_select(0, kept));
        fooled.index_copy_(0, accepted, new_fooled.index_select(0, kept));
      }
      if (query % 100 == 0) ctx.check_interrupted();
    }
    return {best};
  }

 private:
  // One query: the objective per image and whether the image is misclassified.
  std::pair<torch::Tensor, torch::Tensor> evaluate(hebbkit::Classifier& model, const torch::Tensor& x,
                                                   const torch::Tensor& labels) {
    const auto logits = model.logits(x);
    return {hebbkit::attack_objective(model, logits, labels, loss_), logits.argmax(1).ne(labels)};
  }

  static torch::Tensor random_sign(const std::vector<std::int64_t>& shape, const torch::TensorOptions& options) {
    return torch::randint(0, 2, shape, options) * 2 - 1;
  }

  // Side of the square window: sqrt(p * pixels) with p halved on the paper's schedule
  // (iterations scaled to a 10000-query budget), at least 1 and at most the image side - 1.
  std::int64_t window(std::int64_t query, std::int64_t c, std::int64_t h, std::int64_t w) const {
    const std::int64_t it = query * 10000 / queries_;
    static const std::int64_t bounds[] = {10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000};
    double p = p_init_;
    for (const auto bound : bounds)
      if (it > bound) p /= 2;
    const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(p * double(c * h * w) / double(c))));
    return std::clamp<std::int64_t>(side, 1, std::min(h, w) - 1);
  }

  std::int64_t queries_;
  double p_init_;
  hebbkit::AttackLoss loss_;
};

}  // namespace

HEBBKIT_PLUGIN(Square)
