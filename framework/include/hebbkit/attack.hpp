#pragma once
#include "hebbkit/export.hpp"
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/config.hpp"
#include "hebbkit/encoder.hpp"

namespace hebbkit {

class RunContext;

/// The norm an attack's epsilon bounds: max |delta| per pixel, or the Euclidean length
/// of delta per image.
enum class Norm { Linf, L2 };
const char* to_string(Norm norm);

/// What an attack returns for one batch.
struct AttackOutcome {
  torch::Tensor images;             ///< perturbed, same shape, inside [0, 1] and the epsilon ball
  std::int64_t zero_gradient = -1;  ///< images whose input gradient was exactly zero; -1: not a gradient attack
};

/// An adversarial attack. Given a differentiable classifier, a batch of raw images in
/// [0, 1] with their true labels and a budget epsilon in norm(), returns perturbed images.
/// The attack stage runs it for each epsilon of a list, checks every output (shape,
/// finite, [0, 1], within epsilon) and measures accuracy on it.
class HEBBKIT_API Attack {
 public:
  virtual ~Attack();
  virtual Norm norm() const { return Norm::Linf; }
  virtual AttackOutcome perturb(Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                                double epsilon, RunContext& ctx) = 0;
};

// Shared by the attack plugins.

/// What a gradient attack climbs: the classifier's own training loss, cross-entropy on
/// its logits, or the logit margin max_{j != y} z_j - z_y (Carlini-Wagner), per example.
enum class AttackLoss { Model, CrossEntropy, Margin };
/// "model", "ce" and "margin": what a plugin's `loss` parameter offers.
HEBBKIT_API Choices<AttackLoss> param_choices(AttackLoss);
/// "linf" and "l2".
HEBBKIT_API Choices<Norm> param_choices(Norm);

/// Per-example objective (B) of `loss` for the classifier's logits of a batch; larger is
/// worse for the classifier (the margin is positive once the image is misclassified).
torch::Tensor attack_objective(Classifier& model, const torch::Tensor& logits, const torch::Tensor& labels,
                               AttackLoss loss);

/// One forward and backward pass at `images`: the gradient of the summed objective with
/// respect to the images, how many images got an all-zero gradient (saturated or masked
/// gradients), and the objective and correctness there (for keeping the best iterate).
struct InputGradient {
  torch::Tensor gradient;
  std::int64_t zero_rows = 0;
  torch::Tensor objective;  ///< (B), detached
  torch::Tensor correct;    ///< (B) bool: still classified correctly at `images`
};
InputGradient input_gradient(Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                             AttackLoss loss);

/// `adversarial` pulled back into the epsilon ball around `clean` (per image) and into [0, 1].
torch::Tensor project(const torch::Tensor& adversarial, const torch::Tensor& clean, double epsilon, Norm norm);

/// Per-image distance of `adversarial` from `clean` in `norm` (B).
torch::Tensor distance(const torch::Tensor& adversarial, const torch::Tensor& clean, Norm norm);

}  // namespace hebbkit
