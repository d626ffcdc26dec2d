#pragma once
// A stack of linear layers as a rule saves it: layer i as "<prefix><i>_weight" and
// "<prefix><i>_bias" (Forward-Forward's ff0_weight, ..., SCFF's scff0_weight, ...), so that
// a run's model/ holds one .npy per tensor and init_prefix can start from them.
#include <string>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "hebbkit/export.hpp"
#include "hebbkit/state.hpp"

namespace hebbkit {

/// Every layer's weight and bias, bottom first, detached.
HEBBKIT_API std::vector<NamedTensor> linear_layers_state(const std::vector<torch::nn::Linear>& layers,
                                                         const std::string& prefix);

/// The layers linear_layers_state wrote, in order, on the saved tensors' device. Throws
/// DataError naming `who` and the layer when a bias is missing, a weight and its bias do not
/// make a layer, or a layer does not read what the one below gives.
HEBBKIT_API std::vector<torch::nn::Linear> linear_layers_from(const std::vector<NamedTensor>& state,
                                                              const std::string& prefix, const std::string& who);

/// Every layer's parameters, bottom first (weight, then bias).
HEBBKIT_API std::vector<torch::Tensor> linear_layers_parameters(std::vector<torch::nn::Linear>& layers);

}  // namespace hebbkit
