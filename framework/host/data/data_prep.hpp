#pragma once
// The host's data handling, common to every dataset plugin: limits and the seeded
// validation split. (Preprocessing is part of the model: hebbkit/preprocess.hpp.)
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/dataset.hpp"
#include "recipe/recipe.hpp"

namespace hebbkit::pipeline {

struct PreparedData {
  Split train, val, test;             // raw images in [0, 1], on the run's device
  std::vector<std::string> classes;
  std::vector<std::int64_t> image_shape;  // (C, H, W)
  std::int64_t num_classes() const { return static_cast<std::int64_t>(classes.size()); }
};

/// Applies limits and the validation split (seeded by `seed`) and moves to `device`.
PreparedData prepare_data(DatasetContent content, const recipe::DataOptions& options, std::uint64_t seed,
                          torch::Device device);

/// The data root: the recipe's `root`, else $HEBBKIT_DATA, else system::default_data_root().
std::filesystem::path resolve_data_root(const recipe::DataOptions& options);
/// Where resolve_data_root took the root from: "dataset.root", "HEBBKIT_DATA" or the default.
std::string data_root_origin(const recipe::DataOptions& options);

}  // namespace hebbkit::pipeline
