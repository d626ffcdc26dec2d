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
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    return {choice("loss", "ce", hebbkit::attack_loss_names(),
                   "what the step climbs: the model's own loss, cross-entropy on logits, or the logit margin")};
  }
  explicit Fgsm(const hebbkit::Params& p) : loss_(hebbkit::attack_loss(p.string("loss"))) {}

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
