// An attack plugin for the tests only: perturbs honestly (`noise`) or breaks the attack
// contract in one chosen way, so that the host's output checks can be seen to work.
#include <hebbkit/attack.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>
#include <torch/types.h>

namespace {

enum class Mode { Noise, OutOfRange, WrongShape, Nan, TooFar };
hebbkit::Choices<Mode> param_choices(Mode) {
  return {{Mode::Noise, "noise"}, {Mode::OutOfRange, "out_of_range"}, {Mode::WrongShape, "wrong_shape"},
          {Mode::Nan, "nan"}, {Mode::TooFar, "too_far"}};
}

class TestAttack final : public hebbkit::Attack {
 public:
  static constexpr const char* name = "test_attack";
  static constexpr const char* summary = "tests only: random-sign noise, or a broken output on purpose";
  struct Config {
    Mode mode = hebbkit::param("mode", Mode::Noise, "what perturb() returns");
  };
  explicit TestAttack(const Config& c) : mode_(c.mode) {}

  hebbkit::AttackOutcome perturb(hebbkit::Classifier&, const torch::Tensor& images, const torch::Tensor&,
                                 double epsilon, hebbkit::RunContext&) override {
    if (mode_ == Mode::OutOfRange) return {images + 2};
    if (mode_ == Mode::WrongShape) return {images.flatten(1)};
    if (mode_ == Mode::Nan) return {images * NAN};
    if (mode_ == Mode::TooFar) return {(images + 2 * epsilon * torch::randn_like(images).sign()).clamp(0, 1)};
    return {(images + epsilon * torch::randn_like(images).sign()).clamp(0, 1)};
  }

 private:
  Mode mode_;
};

}  // namespace

HEBBKIT_PLUGIN(TestAttack)
