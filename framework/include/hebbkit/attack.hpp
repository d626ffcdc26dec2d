#pragma once
#include "hebbkit/export.hpp"
#include <torch/types.h>

#include "hebbkit/encoder.hpp"

namespace hebbkit {

class RunContext;

/// An adversarial attack. Given a differentiable classifier and a batch of raw images in
/// [0, 1] with their true labels, returns perturbed images (same shape, still in [0, 1]).
/// The host measures accuracy on them.
class HEBBKIT_API Attack {
 public:
  virtual ~Attack();
  virtual torch::Tensor perturb(Classifier& model, const torch::Tensor& images,
                                const torch::Tensor& labels, RunContext& ctx) = 0;
};

}  // namespace hebbkit
