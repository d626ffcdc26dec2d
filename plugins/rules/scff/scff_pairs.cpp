#include "scff_pairs.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <hebbkit/errors.hpp>
#include <torch/nn/functional/padding.h>

#include "scff_layer.hpp"

namespace hebbkit::scff {

torch::Tensor translate_by(const torch::Tensor& images, const torch::Tensor& dx, const torch::Tensor& dy) {
  const auto xs = dx.to(torch::kCPU, torch::kInt64).contiguous(), ys = dy.to(torch::kCPU, torch::kInt64).contiguous();
  const auto* sx = xs.data_ptr<std::int64_t>();
  const auto* sy = ys.data_ptr<std::int64_t>();
  const std::int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  std::int64_t pad = 0;
  for (std::int64_t i = 0; i < n; ++i) pad = std::max({pad, std::abs(sx[i]), std::abs(sy[i])});
  if (pad == 0) return images.clone();
  namespace F = torch::nn::functional;
  const auto padded = F::pad(images, F::PadFuncOptions({pad, pad, pad, pad}));
  auto out = torch::empty_like(images);
  // One window per image: a whole batch of them costs less than the layer's product.
  for (std::int64_t i = 0; i < n; ++i)
    out[i].copy_(padded[i].slice(1, pad - sy[i], pad - sy[i] + h).slice(2, pad - sx[i], pad - sx[i] + w));
  return out;
}

torch::Tensor translate(const torch::Tensor& images, std::int64_t max_shift) {
  const auto s = static_cast<double>(max_shift);
  const auto offsets = torch::round(torch::rand({2, images.size(0)}, torch::kFloat64) * 2 * s - s);
  return translate_by(images, offsets[0], offsets[1]);
}

Pairs make_pairs(const torch::Tensor& a, const torch::Tensor& b, std::int64_t offset) {
  const auto rows = a.size(0);
  const auto other = (torch::arange(rows, torch::TensorOptions().dtype(torch::kInt64).device(b.device())) + offset) % rows;
  return {torch::cat({a, b}, 1), torch::cat({a, b.index_select(0, other)}, 1)};
}

std::int64_t draw_offset(std::int64_t batch) {
  if (batch < 2) throw std::logic_error("scff: a negative pair needs a batch of at least two images");
  return torch::randint(1, batch, {1}, torch::kInt64).item<std::int64_t>();
}

torch::Tensor random_flip(const torch::Tensor& images) {
  const auto coins = torch::rand({images.size(0)}, torch::kFloat64).lt(0.5).to(images.device());
  return torch::where(coins.view({-1, 1, 1, 1}), images.flip({3}), images);
}

Pairs draw_pairs(const torch::Tensor& images, const Views& views) {
  const auto source = views.flip ? random_flip(images) : images;
  auto view = [&] {
    auto v = views.max_shift > 0 ? translate(source, views.max_shift) : source;
    if (views.rows) v = v.flatten(1);
    return views.standardize ? standardize(v) : v;
  };
  const auto a = view();
  const auto b = views.max_shift > 0 ? view() : a;
  return make_pairs(a, b, draw_offset(source.size(0)));
}

}  // namespace hebbkit::scff
