#pragma once
// torch::optim::Adam's step, one pass over each parameter instead of about eight tensor
// ops: for a head's few thousand weights per minibatch the ops' dispatch and their passes
// over memory cost more than the arithmetic. It reads and writes the optimizer's own
// state, so checkpoints and resume are unchanged.
#include <torch/optim/adam.h>
#include <torch/types.h>

namespace hebbkit {

/// One Adam step over every parameter of `adam` that has a gradient. Float parameters on
/// the CPU, contiguous with contiguous gradients, take the fused loop; anything else (and
/// amsgrad) falls back to adam.step(). Equal to adam.step() up to float rounding.
void adam_step(torch::optim::Adam& adam);

}  // namespace hebbkit
