#pragma once
// Named tensors: how trained parts are saved (model/*.npy) and how training in progress is
// checkpointed. Optimizer state travels as one byte tensor.
#include "hebbkit/export.hpp"
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace torch::optim {
class Optimizer;
}

namespace hebbkit {

/// A named tensor a plugin exposes for saving and reopening, e.g. {"weights", W}.
using NamedTensor = std::pair<std::string, torch::Tensor>;

/// Finds `name` in a state list; throws DataError naming it (and what there is) if absent.
const torch::Tensor& find_state(const std::vector<NamedTensor>& state, const std::string& name);

/// An optimizer's state (moments, step counts, options) serialised into a uint8 tensor,
/// so that it can sit in a checkpoint beside the weights.
torch::Tensor optimizer_state(torch::optim::Optimizer& optimizer);
/// The mirror of optimizer_state(), for an optimizer built over the same parameters.
/// Throws DataError when the bytes are not an optimizer state of that shape.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const torch::Tensor& bytes);

/// Puts torch's CPU generator back where it was when the guard is destroyed. For work
/// whose random draws are thrown away at once (building modules that a checkpoint then
/// overwrites), so that a resumed run draws the numbers the uninterrupted one did.
class HEBBKIT_API GeneratorGuard {
 public:
  GeneratorGuard();
  ~GeneratorGuard();
  GeneratorGuard(const GeneratorGuard&) = delete;
  GeneratorGuard& operator=(const GeneratorGuard&) = delete;

 private:
  torch::Tensor state_;
};

/// torch's CPU generator state, and setting it (what checkpoints save and restore).
torch::Tensor generator_state();
void set_generator_state(const torch::Tensor& state);

}  // namespace hebbkit
