// attack: accuracy on test images perturbed by an attack plugin. The host checks every
// perturbed batch (shape, finite, inside [0, 1]) before it is trusted.
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "hebbkit/errors.hpp"
#include "recipe/recipe.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {

class AttackStage final : public Stage {
 public:
  explicit AttackStage(const recipe::StageUse& use)
      : path_(use.path), name_(use.plugin.name()), batch_(use.params->integer("batch")),
        attack_(use.plugin.make<Attack>()) {}

  void run(StageEnv& env) override {
    auto& ctx = env.ctx;
    ctx.set_scope(path_);
    const auto& test = env.data.test;
    const std::int64_t n = test.size();
    auto progress = ctx.progress("attack " + name_, (n + batch_ - 1) / batch_, "batch");
    std::int64_t correct = 0, clean_correct = 0;
    for (std::int64_t start = 0; start < n; start += batch_) {
      const auto x = test.images.slice(0, start, std::min(n, start + batch_));
      const auto y = test.labels.slice(0, start, std::min(n, start + batch_));
      const auto adversarial = attack_->perturb(env.model, x, y, ctx).detach();
      check_output(adversarial, x, start);
      torch::NoGradGuard no_grad;
      correct += env.model.logits(adversarial).argmax(1).eq(y).sum().item<std::int64_t>();
      clean_correct += env.model.logits(x).argmax(1).eq(y).sum().item<std::int64_t>();
      progress->note("accuracy", double(correct) / std::min(n, start + batch_));
      progress->advance();
    }
    progress->finish();
    const double acc = n ? double(correct) / n : 0.0, clean = n ? double(clean_correct) / n : 0.0;
    ctx.metric("accuracy", acc);
    env.summary["attacks"][path_] = {{"attack", name_}, {"accuracy", acc}, {"clean_accuracy", clean}};
    ctx.info("accuracy under attack {:.2f}% (clean {:.2f}%)", 100 * acc, 100 * clean);
    ctx.set_scope("");
  }

 private:
  // An attack that returns other shapes, NaNs or pixels outside [0, 1] would make any
  // accuracy it reports meaningless: stop the stage and say which batch.
  void check_output(const torch::Tensor& adversarial, const torch::Tensor& clean, std::int64_t start) const {
    const std::string where = fmt::format("{}: attack '{}' on test images {}..{}", path_, name_, start,
                                          start + clean.size(0) - 1);
    if (adversarial.sizes() != clean.sizes())
      throw std::runtime_error(fmt::format("{} returned shape {}, expected {}", where,
                                           fmt::join(adversarial.sizes(), "x"), fmt::join(clean.sizes(), "x")));
    if (!torch::isfinite(adversarial).all().item<bool>())
      throw std::runtime_error(fmt::format("{} returned NaN or Inf pixels", where));
    const double lo = adversarial.min().item<double>(), hi = adversarial.max().item<double>();
    if (lo < 0.0 || hi > 1.0)
      throw std::runtime_error(fmt::format("{} returned pixels in [{}, {}], outside [0, 1]; clamp the result", where,
                                           lo, hi));
  }

  std::string path_, name_;
  std::int64_t batch_;
  std::unique_ptr<Attack> attack_;
};

}  // namespace

StageType attack_stage() {
  StageType t;
  t.name = "attack";
  t.summary = "accuracy on test images perturbed by an attack plugin: {attack: {name: ..., batch: 100, ...}}";
  t.plugin = PluginKind::Attack;
  t.schema = {param::integer("batch", 100, "test images perturbed at once").at_least(1)};
  t.make = [](const recipe::StageUse& use) { return std::make_unique<AttackStage>(use); };
  return t;
}

}  // namespace hebbkit::stages
