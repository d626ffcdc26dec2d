// The baseline every attack must beat: a random sign per pixel at the same epsilon
// (L-infinity), or a random direction of length epsilon (L2).
#include <hebbkit/attack.hpp>
#include <hebbkit/context.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>
#include <torch/types.h>

namespace {

class Noise final : public hebbkit::Attack {
 public:
  static constexpr const char* name = "noise";
  static constexpr const char* summary = "random noise at the attack budget: the baseline for any attack";
  struct Config {
    hebbkit::Norm norm = hebbkit::param("norm", hebbkit::Norm::Linf,
                                        "linf: a random sign of size epsilon per pixel; l2: a random direction of "
                                        "length epsilon per image");
  };
  explicit Noise(const Config& c) : norm_(c.norm) {}

  hebbkit::Norm norm() const override { return norm_; }

  hebbkit::AttackOutcome perturb(hebbkit::Classifier&, const torch::Tensor& images, const torch::Tensor&,
                                 double epsilon, hebbkit::RunContext&) override {
    torch::Tensor delta;
    if (norm_ == hebbkit::Norm::Linf) {
      delta = epsilon * torch::randn_like(images).sign();
    } else {
      const auto d = torch::randn_like(images).flatten(1);
      delta = (epsilon * d / d.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12)).view_as(images);
    }
    return {hebbkit::project(images + delta, images, epsilon, norm_)};
  }

 private:
  hebbkit::Norm norm_;
};

}  // namespace

HEBBKIT_PLUGIN(Noise)
