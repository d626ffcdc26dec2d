#include "ff_negatives.hpp"

#include <algorithm>

#include <hebbkit/label_overlay.hpp>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/padding.h>

namespace hebbkit::ff {

namespace {

class WrongLabels final : public Negatives {
 public:
  WrongLabels(torch::Tensor images, torch::Tensor labels, std::int64_t num_classes)
      : images_(std::move(images)), labels_(std::move(labels)), num_classes_(num_classes) {}
  torch::Tensor positives() const override { return overlay_label(images_, labels_, num_classes_); }
  torch::Tensor draw() const override { return overlay_label(images_, wrong_labels(labels_, num_classes_), num_classes_); }

 private:
  torch::Tensor images_, labels_;
  std::int64_t num_classes_;
};

class Hybrids final : public Negatives {
 public:
  explicit Hybrids(torch::Tensor images) : images_(std::move(images)) {}
  torch::Tensor positives() const override { return images_.flatten(1); }
  torch::Tensor draw() const override { return hybrid_negatives(images_).flatten(1); }

 private:
  torch::Tensor images_;
};

}  // namespace

std::unique_ptr<Negatives> wrong_label_negatives(torch::Tensor images, torch::Tensor labels, std::int64_t num_classes) {
  return std::make_unique<WrongLabels>(std::move(images), std::move(labels), num_classes);
}

std::unique_ptr<Negatives> hybrid_image_negatives(torch::Tensor images) {
  return std::make_unique<Hybrids>(std::move(images));
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
  const auto coins = torch::bernoulli(torch::full({n, 1, height, width}, 0.5, torch::TensorOptions().device(device)));
  // Blurred in chunks: one convolution over a whole training set unfolds every 7x7 window of
  // every image at once (gigabytes for 55,000 images; an epoch took 45 s instead of ~8).
  constexpr std::int64_t chunk = 2048;
  auto mask = torch::empty({n, 1, height, width}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  for (std::int64_t start = 0; start < n; start += chunk) {
    const auto end = std::min(n, start + chunk);
    auto part = blur(coins.slice(0, start, end), 5, 7.0);
    part = blur(part, 7, 14.0);
    part = blur(part, 5, 7.0);
    mask.slice(0, start, end).copy_(part.gt(0.5));
  }
  return mask;
}

torch::Tensor hybrid_negatives(const torch::Tensor& images) {
  const auto others = images.index_select(0, torch::randperm(images.size(0), torch::kInt64).to(images.device()));
  const auto mask = hybrid_mask(images.size(0), images.size(2), images.size(3), images.device()).to(images.dtype());
  return images * mask + others * (1 - mask);
}

}  // namespace hebbkit::ff
