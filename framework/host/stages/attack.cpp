// attack: accuracy on test images perturbed by an attack plugin, for each epsilon of a
// list (a robustness curve in one stage). The host checks every perturbed batch (shape,
// finite, inside [0, 1], within epsilon in the attack's norm) before it is trusted.
#include <fmt/ranges.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "hebbkit/training.hpp"
#include "io/plot.hpp"
#include "recipe/recipe.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {

class AttackStage final : public Stage {
 public:
  explicit AttackStage(const recipe::StageUse& use)
      : path_(use.path), name_(use.plugin.name()), batch_(use.params->integer("batch")),
        limit_(use.params->integer("limit")), epsilons_(use.params->reals("epsilons")),
        attack_(use.plugin.make<Attack>()) {
    if (epsilons_.empty()) use.params->fail("epsilons", "give at least one epsilon, e.g. [0, 0.1, 0.2, 0.3]");
    for (const double e : epsilons_)
      if (e < 0) use.params->fail("epsilons", fmt::format("epsilon {} is negative", e));
  }

  void run(StageEnv& env) override {
    auto& ctx = env.ctx;
    ctx.set_scope(path_);
    const auto& test = env.data.test;
    const std::int64_t n = limit_ > 0 ? std::min(limit_, test.size()) : test.size();
    const Norm norm = attack_->norm();
    ctx.info("attack '{}' ({} ball) on {} test images at epsilon {}", name_, to_string(norm), n,
             fmt::join(epsilons_, ", "));
    double clean = 0;
    {
      torch::NoGradGuard no_grad;
      const auto logits = apply_batched([&](const torch::Tensor& x) { return env.model.logits(x); },
                                        test.images.slice(0, 0, n), batch_);
      clean = accuracy(logits, test.labels.slice(0, 0, n));
    }
    std::vector<double> accuracies, zero_fractions;
    for (std::size_t e = 0; e < epsilons_.size(); ++e) {
      const double epsilon = epsilons_[e];
      auto progress = ctx.progress(fmt::format("{} eps={}", name_, epsilon), (n + batch_ - 1) / batch_, "batch");
      std::int64_t correct = 0, zero = 0;
      bool gradient_attack = false;
      for (std::int64_t start = 0; start < n; start += batch_) {
        const auto x = test.images.slice(0, start, std::min(n, start + batch_));
        const auto y = test.labels.slice(0, start, std::min(n, start + batch_));
        auto outcome = attack_->perturb(env.model, x, y, epsilon, ctx);
        const auto adversarial = outcome.images.defined() ? outcome.images.detach() : outcome.images;
        check_output(adversarial, x, start, epsilon, norm);
        if (outcome.zero_gradient >= 0) gradient_attack = true, zero += outcome.zero_gradient;
        torch::NoGradGuard no_grad;
        correct += env.model.logits(adversarial).argmax(1).eq(y).sum().item<std::int64_t>();
        progress->note("accuracy", double(correct) / std::min(n, start + batch_));
        progress->advance();
        ctx.check_interrupted();
      }
      progress->finish();
      const double acc = n ? double(correct) / n : 0.0;
      accuracies.push_back(acc);
      zero_fractions.push_back(gradient_attack && n ? double(zero) / n : -1.0);
      const auto step = static_cast<std::int64_t>(e);
      ctx.metric("epsilon", epsilon, -1, step);
      ctx.metric("accuracy", acc, -1, step);
      if (gradient_attack) ctx.metric("zero_gradient_fraction", zero_fractions.back(), -1, step);
      ctx.info("epsilon {}: accuracy {:.2f}% (clean {:.2f}%){}", epsilon, 100 * acc, 100 * clean,
               gradient_attack ? fmt::format(", {:.1f}% of images had a zero input gradient", 100 * zero_fractions.back())
                               : std::string());
    }
    env.summary.attacks[path_] = {name_, to_string(norm), n, epsilons_, accuracies, clean,
                                  zero_fractions.front() >= 0 ? zero_fractions : std::vector<double>{}};
    if (epsilons_.size() > 1) draw_curve(env, accuracies);
    ctx.set_scope("");
  }

 private:
  // An attack that returns other shapes, NaNs, pixels outside [0, 1] or steps beyond its
  // budget would make any accuracy it reports meaningless: stop and say which batch.
  void check_output(const torch::Tensor& adversarial, const torch::Tensor& clean, std::int64_t start, double epsilon,
                    Norm norm) const {
    const std::string where = fmt::format("{}: attack '{}' at epsilon {} on test images {}..{}", path_, name_, epsilon,
                                          start, start + clean.size(0) - 1);
    if (!adversarial.defined() || adversarial.sizes() != clean.sizes())
      throw std::runtime_error(fmt::format("{} returned shape {}, expected {}", where,
                                           adversarial.defined() ? fmt::format("{}", fmt::join(adversarial.sizes(), "x"))
                                                                 : std::string("(none)"),
                                           fmt::join(clean.sizes(), "x")));
    if (!torch::isfinite(adversarial).all().item<bool>())
      throw std::runtime_error(fmt::format("{} returned NaN or Inf pixels", where));
    const double lo = adversarial.min().item<double>(), hi = adversarial.max().item<double>();
    if (lo < 0.0 || hi > 1.0)
      throw std::runtime_error(fmt::format("{} returned pixels in [{}, {}], outside [0, 1]; clamp the result", where,
                                           lo, hi));
    // float rounding of x + delta may exceed epsilon by an ulp of the pixel values.
    const double farthest = distance(adversarial, clean, norm).max().item<double>();
    if (farthest > epsilon * (1 + 1e-5) + 1e-6)
      throw std::runtime_error(fmt::format("{} moved an image {} in {} norm, beyond epsilon {}", where, farthest,
                                           to_string(norm), epsilon));
  }

  void draw_curve(StageEnv& env, const std::vector<double>& accuracies) const {
    const auto file = env.store.artifacts() / fmt::format("attack_{}.png", io::file_safe(path_));
    io::plot_panels(file, {io::Panel{fmt::format("{} ({})", name_, to_string(attack_->norm())), "epsilon",
                                     "test accuracy", {io::Series{name_, epsilons_, accuracies}}, false}});
    env.artifact(file);
  }

  std::string path_, name_;
  std::int64_t batch_, limit_;
  std::vector<double> epsilons_;
  std::unique_ptr<Attack> attack_;
};

}  // namespace

StageType attack_stage() {
  StageType t;
  t.name = "attack";
  t.summary = "test accuracy under an attack plugin for each epsilon: {attack: {name: fgsm, epsilons: [0, 0.1]}}";
  t.plugin = PluginKind::Attack;
  t.schema = {
      spec::integer("batch", 100, "test images perturbed at once").at_least(1),
      spec::integer("limit", 0, "attack the first N test images only (0: all)").at_least(0),
      spec::reals("epsilons", {0.1}, "budgets in the attack's norm; several give a curve (attack_<path>.png)"),
  };
  t.make = [](const recipe::StageUse& use) { return std::make_unique<AttackStage>(use); };
  return t;
}

}  // namespace hebbkit::stages
