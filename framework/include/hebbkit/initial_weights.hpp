#pragma once
// Starting a layer from saved weights (`init: npy` with `init_file`): a previous run's
// model/layer<i>_weights.npy, or the initial weights of a paper's reference code, so that a
// reimplementation is checked against it from the same start. One check and one loader
// for every rule that offers it.
#include <filesystem>
#include <string>

#include <torch/types.h>

#include "hebbkit/export.hpp"
#include "hebbkit/params.hpp"
#include "hebbkit/state.hpp"

namespace hebbkit {

/// At validation: `init_file` must be given exactly when the rule's `init` is npy
/// (`init_is_npy`), and must be a readable file. Fails on `params` naming the key.
HEBBKIT_API void check_init_file(const Params& params, bool init_is_npy, const std::string& init_file,
                                 const std::string& init_name);

/// The weights in `file`, which must have exactly `shape`; DataError naming the file and both
/// shapes otherwise. On `options`' device and dtype, contiguous.
HEBBKIT_API torch::Tensor load_initial_weights(const std::filesystem::path& file, at::IntArrayRef shape,
                                               const torch::TensorOptions& options);

/// A layer of several tensors (Forward-Forward's stack, a backprop network) starts from the
/// files PREFIX_<name>.npy, one per tensor of its state, as a run's model/ holds them
/// (PREFIX runs/X/model/layer0). At validation: `init_prefix` given exactly when `wanted`,
/// and some PREFIX_*.npy exists.
HEBBKIT_API void check_init_prefix(const Params& params, bool wanted, const std::string& init_prefix);

/// Overwrites each tensor of `fresh` (a layer's state as just built) in place with
/// PREFIX_<file_safe(name)>.npy; DataError naming a missing file or both shapes.
HEBBKIT_API void load_initial_state(const std::string& prefix, const std::vector<NamedTensor>& fresh);

}  // namespace hebbkit
