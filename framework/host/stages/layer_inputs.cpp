#include "stages/layer_inputs.hpp"

#include <torch/types.h>

#include "hebbkit/training.hpp"

namespace hebbkit::stages {

StreamedSource::StreamedSource(torch::Tensor base, torch::Tensor labels, std::vector<Rule*> through,
                               std::int64_t eval_batch)
    : base_(std::move(base)), labels_(std::move(labels)), through_(std::move(through)), eval_batch_(eval_batch) {
  torch::NoGradGuard no_grad;
  const auto one = pass(base_.slice(0, 0, 1));
  sample_shape_.assign(one.sizes().begin() + 1, one.sizes().end());
}

torch::Tensor StreamedSource::pass(torch::Tensor x) const {
  torch::NoGradGuard no_grad;
  for (auto* rule : through_) x = rule->forward(x);
  return x;
}

torch::Tensor StreamedSource::all() {
  return apply_batched([&](const torch::Tensor& x) { return pass(x); }, base_, eval_batch_);
}

InputsMode inputs_mode(const std::string& name) {
  if (name == "memory") return InputsMode::Memory;
  if (name == "stream") return InputsMode::Stream;
  return InputsMode::Auto;
}

double bytes_of(std::int64_t rows, const std::vector<std::int64_t>& sample_shape) {
  double bytes = 4.0 * static_cast<double>(rows);
  for (const auto d : sample_shape) bytes *= static_cast<double>(d);
  return bytes;
}

}  // namespace hebbkit::stages
