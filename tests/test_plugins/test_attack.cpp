// An attack plugin for the tests only: perturbs honestly (`noise`) or breaks the attack
// contract in one chosen way, so that the host's output checks can be seen to work.
#include <hebbkit/attack.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>
#include <torch/types.h>

namespace {

class TestAttack final : public hebbkit::Attack {
 public:
  static constexpr const char* name = "test_attack";
  static constexpr const char* summary = "tests only: random-sign noise, or a broken output on purpose";
  static hebbkit::ParamSchema schema() {
    using namespace hebbkit::param;
    return {choice("mode", "noise", {"noise", "out_of_range", "wrong_shape", "nan", "too_far"},
                   "what perturb() returns")};
  }
  explicit TestAttack(const hebbkit::Params& p) : mode_(p.string("mode")) {}

  hebbkit::AttackOutcome perturb(hebbkit::Classifier&, const torch::Tensor& images, const torch::Tensor&,
                                 double epsilon, hebbkit::RunContext&) override {
    if (mode_ == "out_of_range") return {images + 2};
    if (mode_ == "wrong_shape") return {images.flatten(1)};
    if (mode_ == "nan") return {images * NAN};
    if (mode_ == "too_far") return {(images + 2 * epsilon * torch::randn_like(images).sign()).clamp(0, 1)};
    return {(images + epsilon * torch::randn_like(images).sign()).clamp(0, 1)};
  }

 private:
  std::string mode_;
};

}  // namespace

HEBBKIT_PLUGIN(TestAttack)
