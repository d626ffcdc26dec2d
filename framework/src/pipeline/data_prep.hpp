#pragma once
// The host's data handling, common to every dataset plugin: limits, the seeded
// validation split, and preprocessing fitted on the training split.
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/dataset.hpp"
#include "recipe/recipe.hpp"

namespace hebbkit::pipeline {

/// Preprocessing steps as differentiable tensor functions; statistics (standardize)
/// are fitted on the training images once.
class Preprocessor {
 public:
  explicit Preprocessor(std::vector<std::string> steps = {});
  void fit(const torch::Tensor& train_images);
  torch::Tensor apply(const torch::Tensor& images) const;
  const std::vector<std::string>& steps() const { return steps_; }

 private:
  torch::Tensor apply_step(std::size_t i, const torch::Tensor& x) const;
  std::vector<std::string> steps_;
  std::vector<torch::Tensor> means_, stds_;  // one pair per step (undefined unless standardize)
};

struct PreparedData {
  Split train, val, test;             // raw images in [0, 1], on the run's device
  std::vector<std::string> classes;
  std::vector<std::int64_t> image_shape;  // (C, H, W)
  std::int64_t num_classes() const { return static_cast<std::int64_t>(classes.size()); }
};

/// Applies limits and the validation split (seeded by `seed`) and moves to `device`.
PreparedData prepare_data(DatasetContent content, const recipe::DataOptions& options, std::uint64_t seed,
                          torch::Device device);

/// The data root: the recipe's `root`, else $HEBBKIT_DATA, else the checkout's datasets/cache.
std::filesystem::path resolve_data_root(const recipe::DataOptions& options);

}  // namespace hebbkit::pipeline
