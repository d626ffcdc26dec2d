// The pieces every attack plugin needs: its objective, the input gradient, projection
// onto the epsilon ball, and distances the host checks outputs with.
#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

#include "hebbkit/attack.hpp"
#include "hebbkit/errors.hpp"

namespace hebbkit {

const char* to_string(Norm norm) { return norm == Norm::Linf ? "linf" : "l2"; }

Choices<AttackLoss> param_choices(AttackLoss) {
  return {{AttackLoss::Model, "model"}, {AttackLoss::CrossEntropy, "ce"}, {AttackLoss::Margin, "margin"}};
}

Choices<Norm> param_choices(Norm) { return {{Norm::Linf, "linf"}, {Norm::L2, "l2"}}; }

torch::Tensor attack_objective(Classifier& model, const torch::Tensor& logits, const torch::Tensor& labels,
                               AttackLoss loss) {
  switch (loss) {
    case AttackLoss::Model: return model.loss(logits, labels);
    case AttackLoss::CrossEntropy:
      return torch::nn::functional::cross_entropy(logits, labels,
                                                  torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    case AttackLoss::Margin: {
      const auto true_logit = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
      // The best other class: mask the true one with -inf.
      const auto others = logits.scatter(1, labels.unsqueeze(1), -std::numeric_limits<float>::infinity());
      return std::get<0>(others.max(1)) - true_logit;
    }
  }
  return {};
}

InputGradient input_gradient(Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                             AttackLoss loss) {
  auto x = images.detach().clone().requires_grad_(true);
  const auto logits = model.logits(x);
  const auto objective = attack_objective(model, logits, labels, loss);
  auto gradient = torch::autograd::grad({objective.sum()}, {x}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                        /*allow_unused=*/true)[0];
  if (!gradient.defined()) gradient = torch::zeros_like(x);
  const auto zero_rows = gradient.flatten(1).abs().amax(1).eq(0).sum().item<std::int64_t>();
  return {gradient.detach(), zero_rows, objective.detach(), logits.detach().argmax(1).eq(labels)};
}

torch::Tensor distance(const torch::Tensor& adversarial, const torch::Tensor& clean, Norm norm) {
  const auto delta = (adversarial - clean).flatten(1);
  return norm == Norm::Linf ? delta.abs().amax(1) : delta.norm(2, 1);
}

torch::Tensor project(const torch::Tensor& adversarial, const torch::Tensor& clean, double epsilon, Norm norm) {
  torch::NoGradGuard no_grad;
  auto delta = adversarial - clean;
  if (norm == Norm::Linf) {
    delta = delta.clamp(-epsilon, epsilon);
  } else {
    const auto flat = delta.flatten(1);
    const auto scale = (epsilon / flat.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12)).clamp_max(1.0);
    delta = (flat * scale).view_as(delta);
  }
  // Clamping to [0, 1] only shrinks |delta| per pixel, so the result stays in the ball.
  return (clean + delta).clamp(0.0, 1.0);
}

}  // namespace hebbkit
