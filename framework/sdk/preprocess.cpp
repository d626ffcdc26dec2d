#include "hebbkit/preprocess.hpp"

#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"

namespace hebbkit {

const std::vector<std::string>& Preprocessor::known_steps() {
  static const std::vector<std::string> steps = {"flatten", "symmetric", "center", "subtract_mean",
                                                   "unit_norm", "standardize"};
  return steps;
}

Preprocessor::Preprocessor(std::vector<std::string> steps)
    : steps_(std::move(steps)), means_(steps_.size()), stds_(steps_.size()) {}

void Preprocessor::fit(const torch::Tensor& train_images) {
  torch::NoGradGuard no_grad;
  means_.assign(steps_.size(), {});
  stds_.assign(steps_.size(), {});
  torch::Tensor x = train_images;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i] == "standardize") {
      // Per channel for (N, C, H, W), per feature for (N, D); on the output of earlier steps.
      std::vector<std::int64_t> dims{0};
      for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      means_[i] = x.mean(dims, /*keepdim=*/true).squeeze(0);
      stds_[i] = x.std(dims, /*unbiased=*/false, /*keepdim=*/true).squeeze(0).clamp_min(1e-8);
    } else if (steps_[i] == "subtract_mean") {
      means_[i] = x.mean(0);  // the mean image (or mean vector once flattened)
    }
    x = apply_step(i, x);
  }
}

std::vector<NamedTensor> Preprocessor::state() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (!means_[i].defined()) continue;
    out.emplace_back(fmt::format("step{}_mean", i), means_[i]);
    if (stds_[i].defined()) out.emplace_back(fmt::format("step{}_std", i), stds_[i]);
  }
  return out;
}

void Preprocessor::load_state(const std::vector<NamedTensor>& state) {
  means_.assign(steps_.size(), {});
  stds_.assign(steps_.size(), {});
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i] != "standardize" && steps_[i] != "subtract_mean") continue;
    means_[i] = find_state(state, fmt::format("step{}_mean", i));
    if (steps_[i] == "standardize") stds_[i] = find_state(state, fmt::format("step{}_std", i));
  }
}

std::vector<std::int64_t> Preprocessor::output_shape(std::vector<std::int64_t> input) const {
  for (const auto& step : steps_)
    if (step == "flatten") {
      std::int64_t volume = 1;
      for (const auto d : input) volume *= d;
      input = {volume};
    }
  return input;
}

torch::Tensor Preprocessor::apply(const torch::Tensor& images) const {
  torch::Tensor x = images;
  for (std::size_t i = 0; i < steps_.size(); ++i) x = apply_step(i, x);
  return x;
}

torch::Tensor Preprocessor::apply_step(std::size_t i, const torch::Tensor& x) const {
  const auto& step = steps_[i];
  if (step == "flatten") return x.flatten(1);
  if (step == "symmetric") return x * 2 - 1;
  if (step == "center") {
    std::vector<std::int64_t> dims;
    for (std::int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
    return x - x.mean(dims, /*keepdim=*/true);
  }
  if (step == "subtract_mean") {
    if (!means_[i].defined()) throw std::logic_error("Preprocessor: subtract_mean used before fit() or load_state()");
    return x - means_[i].to(x.device());
  }
  if (step == "unit_norm") {
    const auto norms = x.flatten(1).norm(2, {1}).clamp_min(1e-12);
    std::vector<std::int64_t> shape(x.dim(), 1);
    shape[0] = x.size(0);
    return x / norms.view(shape);
  }
  if (step == "standardize") {
    if (!means_[i].defined()) throw std::logic_error("Preprocessor: standardize used before fit() or load_state()");
    return (x - means_[i].to(x.device())) / stds_[i].to(x.device());
  }
  throw std::logic_error("Preprocessor: unknown step " + step);
}

}  // namespace hebbkit
