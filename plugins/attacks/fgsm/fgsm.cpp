// FGSM (Goodfellow et al. 2015): one step of size epsilon along the sign of the input
// gradient of the chosen loss, clipped to [0, 1].
#include <hebbkit/attack.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>
#include <torch/types.h>

namespace {

class Fgsm final : public hebbkit::Attack {
 public:
  static constexpr const char* name = "fgsm";
  static constexpr const char* summary = "fast gradient sign method: one L-infinity step of size epsilon";
  struct Config {
    hebbkit::AttackLoss loss =
        hebbkit::param("loss", hebbkit::AttackLoss::CrossEntropy,
                       "what the step climbs: the model's own loss, cross-entropy on logits, or the logit margin");
  };
  explicit Fgsm(const Config& c) : loss_(c.loss) {}

  hebbkit::AttackOutcome perturb(hebbkit::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                                 double epsilon, hebbkit::RunContext&) override {
    const auto g = hebbkit::input_gradient(model, images, labels, loss_);
    return {(images + epsilon * g.gradient.sign()).clamp(0.0, 1.0), g.zero_rows};
  }

 private:
  hebbkit::AttackLoss loss_;
};

}  // namespace

HEBBKIT_PLUGIN(Fgsm)
