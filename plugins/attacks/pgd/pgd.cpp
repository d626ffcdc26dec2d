// PGD (Madry et al. 2018): repeated gradient steps projected back onto the epsilon ball
// (L-infinity: sign steps; L2: normalised steps), from a random start, with restarts. Per
// image the strongest point seen is kept: a misclassified one first, then the highest
// objective, so more steps or restarts never make the attack weaker.
#include <hebbkit/attack.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>
#include <torch/types.h>

namespace {

using hebbkit::Norm;

class Pgd final : public hebbkit::Attack {
 public:
  static constexpr const char* name = "pgd";
  static constexpr const char* summary = "projected gradient descent, L-infinity or L2, random start, restarts";
  struct Config {
    Norm norm = hebbkit::param("norm", Norm::Linf, "the ball epsilon bounds");
    std::int64_t steps = hebbkit::param("steps", 40, "gradient steps per restart").at_least(1);
    double step_size =
        hebbkit::param("step_size", 0.0, "step length as a fraction of epsilon; 0: 2.5 / steps (Madry et al.)").at_least(0);
    bool random_start = hebbkit::param("random_start", true, "start each restart from a uniform point of the ball");
    std::int64_t restarts =
        hebbkit::param("restarts", 1, "independent runs; the strongest result per image is kept").at_least(1);
    hebbkit::AttackLoss loss =
        hebbkit::param("loss", hebbkit::AttackLoss::CrossEntropy,
                       "what the steps climb: the model's own loss, cross-entropy on logits, or the logit margin (CW)");
  };
  explicit Pgd(const Config& c)
      : norm_(c.norm), steps_(c.steps), step_size_(c.step_size), random_start_(c.random_start), restarts_(c.restarts),
        loss_(c.loss) {}

  Norm norm() const override { return norm_; }

  hebbkit::AttackOutcome perturb(hebbkit::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                                 double epsilon, hebbkit::RunContext& ctx) override {
    const double alpha = epsilon * (step_size_ > 0 ? step_size_ : 2.5 / static_cast<double>(steps_));
    auto best = images.clone();
    auto best_objective = torch::full({images.size(0)}, -std::numeric_limits<float>::infinity(), images.options());
    auto best_fooled = torch::zeros({images.size(0)}, images.options().dtype(torch::kBool));
    std::int64_t zero_gradient = -1;
    // Keeps, per image, x when it fools the model and the best did not, or when both agree
    // on fooling and x has the higher objective.
    const auto keep = [&](const torch::Tensor& x, const torch::Tensor& objective, const torch::Tensor& correct) {
      const auto fooled = correct.logical_not();
      const auto better = (fooled & best_fooled.logical_not()) | ((fooled == best_fooled) & (objective > best_objective));
      best.index_copy_(0, better.nonzero().squeeze(1), x.index_select(0, better.nonzero().squeeze(1)));
      best_objective = torch::where(better, objective, best_objective);
      best_fooled = best_fooled | fooled;
    };
    for (std::int64_t restart = 0; restart < restarts_; ++restart) {
      auto x = random_start_ && epsilon > 0 ? hebbkit::project(images + start_noise(images, epsilon), images, epsilon, norm_)
                                            : images.clone();
      for (std::int64_t step = 0; step < steps_; ++step) {
        const auto g = hebbkit::input_gradient(model, x, labels, loss_);
        keep(x, g.objective, g.correct);
        if (restart == 0 && step == 0) zero_gradient = g.zero_rows;
        x = hebbkit::project(x + alpha * direction(g.gradient), images, epsilon, norm_);
      }
      // The last iterate needs its score only, not another gradient.
      torch::NoGradGuard no_grad;
      const auto logits = model.logits(x);
      keep(x, hebbkit::attack_objective(model, logits, labels, loss_), logits.argmax(1).eq(labels));
      ctx.check_interrupted();
    }
    return {best, zero_gradient};
  }

 private:
  torch::Tensor direction(const torch::Tensor& gradient) const {
    if (norm_ == Norm::Linf) return gradient.sign();
    const auto flat = gradient.flatten(1);
    return (flat / flat.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12)).view_as(gradient);
  }

  // Uniform in the L-infinity cube; for L2 a random direction with a uniform radius.
  torch::Tensor start_noise(const torch::Tensor& images, double epsilon) const {
    if (norm_ == Norm::Linf) return (torch::rand_like(images) * 2 - 1) * epsilon;
    const auto d = torch::randn_like(images).flatten(1);
    const auto radius = torch::rand({images.size(0), 1}, images.options()) * epsilon;
    return (d / d.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12) * radius).view_as(images);
  }

  Norm norm_;
  std::int64_t steps_;
  double step_size_;
  bool random_start_;
  std::int64_t restarts_;
  hebbkit::AttackLoss loss_;
};

}  // namespace

HEBBKIT_PLUGIN(Pgd)
