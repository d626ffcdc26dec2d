#include "ff_core.hpp"

#include <cmath>

#include <torch/torch.h>

namespace hebbkit::ff {

torch::Tensor direction(const torch::Tensor& x) { return x / (x.norm(2, {1}, true) + 1e-6); }

torch::Tensor goodness(const torch::Tensor& activities) { return activities.pow(2).mean(1); }

torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, double theta) {
  return torch::cat({torch::softplus(theta - g_pos), torch::softplus(g_neg - theta)}).mean();
}

StepResult train_step(torch::nn::Linear& layer, torch::optim::Optimizer& optimizer, const torch::Tensor& pos,
                      const torch::Tensor& neg, double theta) {
  const std::int64_t n = pos.size(0);
  const auto g = goodness(torch::relu(layer->forward(torch::cat({pos, neg}))));
  const auto g_pos = g.slice(0, 0, n), g_neg = g.slice(0, n);
  const auto batch_loss = loss(g_pos, g_neg, theta);
  optimizer.zero_grad();
  batch_loss.backward();
  optimizer.step();
  return {batch_loss.item<double>(), g_pos.sum().item<double>(), g_neg.sum().item<double>()};
}

torch::Tensor wrong_labels(const torch::Tensor& labels, std::int64_t num_classes) {
  const auto shift = torch::randint(1, num_classes, labels.sizes(), labels.options());
  return (labels + shift) % num_classes;
}

torch::Tensor blur(const torch::Tensor& images, std::int64_t size, double sigma) {
  namespace F = torch::nn::functional;
  auto offsets = torch::arange(size, images.options()) - static_cast<double>(size - 1) / 2;
  auto kernel = torch::exp(-offsets.pow(2) / (2 * sigma * sigma));
  kernel = kernel / kernel.sum();
  const std::int64_t pad = size / 2;
  auto x = F::pad(images, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReplicate));
  x = F::conv2d(x, kernel.view({1, 1, 1, size}));
  return F::conv2d(x, kernel.view({1, 1, size, 1}));
}

torch::Tensor hybrid_mask(std::int64_t n, std::int64_t height, std::int64_t width, torch::Device device) {
  auto mask = torch::bernoulli(torch::full({n, 1, height, width}, 0.5, torch::TensorOptions().device(device)));
  mask = blur(mask, 5, 7.0);
  mask = blur(mask, 7, 14.0);
  mask = blur(mask, 5, 7.0);
  return mask.gt(0.5).to(torch::kFloat32);
}

torch::Tensor hybrid_negatives(const torch::Tensor& images) {
  const auto others = images.index_select(0, torch::randperm(images.size(0), torch::kInt64).to(images.device()));
  const auto mask = hybrid_mask(images.size(0), images.size(2), images.size(3), images.device()).to(images.dtype());
  return images * mask + others * (1 - mask);
}

}  // namespace hebbkit::ff
