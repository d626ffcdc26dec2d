#include "hebbkit/training.hpp"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "hebbkit/errors.hpp"

namespace hebbkit {

std::vector<torch::Tensor> minibatches(std::int64_t n, std::int64_t batch, bool shuffle, torch::Device device) {
  torch::Tensor order = shuffle ? torch::randperm(n, torch::kInt64) : torch::arange(n, torch::kInt64);
  order = order.to(device);
  std::vector<torch::Tensor> out;
  for (std::int64_t start = 0; start < n; start += batch) out.push_back(order.slice(0, start, std::min(n, start + batch)));
  return out;
}

void check_finite(double value, const std::string& what, const std::string& advice) {
  if (std::isfinite(value)) return;
  throw NumericalError(fmt::format("{} is {}: training diverged; {}", what,
                                   std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf",
                                   advice.empty() ? "lower the learning rate, or check the preprocessing "
                                                    "(e.g. center + unit_norm)"
                                                  : advice));
}

torch::Tensor overlay_label(const torch::Tensor& x, const torch::Tensor& labels, std::int64_t num_classes) {
  auto out = x.flatten(1).clone();
  const auto value = x.max().detach();
  const auto one_hot = torch::nn::functional::one_hot(labels, num_classes).to(out.dtype());
  out.slice(1, 0, num_classes).copy_(one_hot * value);
  return out;
}

double accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (labels.numel() == 0) return 0.0;
  return logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
}

}  // namespace hebbkit
