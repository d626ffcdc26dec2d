#pragma once
// The recipe's preprocessing as part of the model: differentiable tensor steps applied to
// raw images in [0, 1], so that attacks perturb pixels, not preprocessed inputs.
#include "hebbkit/export.hpp"
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/rule.hpp"

namespace hebbkit {

/// Steps in order: flatten, symmetric (2x - 1: [0, 1] pixels to [-1, 1]), center (subtract
/// each sample's mean), subtract_mean (subtract the training images' mean image, fitted),
/// unit_norm (scale each sample to L2 norm 1), standardize (per-channel, or per-feature once
/// flattened, mean and std fitted on the training images).
class HEBBKIT_API Preprocessor {
 public:
  explicit Preprocessor(std::vector<std::string> steps = {});
  /// Fits the statistics (subtract_mean, standardize) on the training images.
  void fit(const torch::Tensor& train_images);
  torch::Tensor apply(const torch::Tensor& images) const;
  const std::vector<std::string>& steps() const { return steps_; }
  /// The shape of one sample after the steps, for one of `input` (flatten joins the dimensions).
  std::vector<std::int64_t> output_shape(std::vector<std::int64_t> input) const;
  /// The fitted statistics, e.g. {"step2_mean", ...}; empty for stateless steps.
  std::vector<NamedTensor> state() const;
  void load_state(const std::vector<NamedTensor>& state);

  /// The known step names.
  static const std::vector<std::string>& known_steps();

 private:
  torch::Tensor apply_step(std::size_t i, const torch::Tensor& x) const;
  std::vector<std::string> steps_;
  std::vector<torch::Tensor> means_, stds_;  // per step: mean for subtract_mean and standardize, std for standardize
};

}  // namespace hebbkit
