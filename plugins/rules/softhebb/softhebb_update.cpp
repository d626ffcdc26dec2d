#include "softhebb_update.hpp"

#include <algorithm>

#include <torch/types.h>

namespace hebbkit::softhebb {
namespace {

// W += lr_k dW / max|dW| with the adaptive per-kernel rate (the paper's 1e-30 and 1e-10 guards).
void apply(torch::Tensor& w2, const torch::Tensor& dw, const torch::Tensor& rates) {
  w2.add_(rates.unsqueeze(1) * (dw / (dw.abs().max() + 1e-30)));
}

torch::Tensor adaptive_rates(const torch::Tensor& w2, const Hyper& hyper) {
  return hyper.lr * ((w2.norm(2, {1}) - 1).abs() + 1e-10).pow(hyper.lr_power);
}

}  // namespace

torch::Tensor soft_wta(const torch::Tensor& currents, double t_invert) {
  auto y = -torch::softmax(currents * t_invert, 1);
  const auto winners = currents.argmax(1, /*keepdim=*/true);
  y.scatter_(1, winners, -y.gather(1, winners));
  return y;
}

Kernels::Kernels(torch::Tensor weights, Hyper hyper, ConvGeometry geometry, std::int64_t patch_chunk)
    : w_(weights.contiguous()), hyper_(hyper), geometry_(geometry), chunk_(std::max<std::int64_t>(1, patch_chunk)) {}

torch::Tensor Kernels::norm_error() const {
  torch::NoGradGuard no_grad;
  return (w_.flatten(1).norm(2, {1}) - 1).abs();
}

torch::Tensor Kernels::rates() const {
  torch::NoGradGuard no_grad;
  return adaptive_rates(w_.view({w_.size(0), -1}), hyper_);
}

void Kernels::step(const torch::Tensor& x, Collective& world) {
  torch::NoGradGuard no_grad;
  auto w2 = w_.view({w_.size(0), -1});
  auto dw = torch::zeros_like(w2);
  auto yu = torch::zeros({w2.size(0)}, w2.options());
  const auto accumulate = [&](const torch::Tensor& patches) {
    const auto u = torch::mm(patches, w2.t());
    const auto y = soft_wta(u, hyper_.t_invert);
    yu += (y * u).sum(0);
    dw.addmm_(y.t(), patches);
  };
  const auto [ho, wo] = geometry_.output_size(x.size(2), x.size(3));
  if (!tensor_path_ && x.device().is_cpu()) {
    const auto xp = geometry_.pad(x).contiguous();
    const std::int64_t total = x.size(0) * ho * wo, rows = std::min(chunk_, total), dim = w2.size(1);
    if (!patches_.defined() || patches_.scalar_type() != x.scalar_type() || patches_.size(0) < rows ||
        patches_.size(1) != dim)
      patches_ = torch::empty({rows, dim}, x.options());
    for (std::int64_t start = 0; start < total; start += chunk_) {
      const std::int64_t n = std::min(chunk_, total - start);
      geometry_.gather(xp, start, n, patches_);
      accumulate(patches_.slice(0, 0, n));
    }
  } else {
    const std::int64_t images = std::max<std::int64_t>(1, chunk_ / (ho * wo));
    for (std::int64_t s = 0; s < x.size(0); s += images)
      accumulate(geometry_.unfold(x.slice(0, s, std::min(x.size(0), s + images))));
  }
  dw -= yu.unsqueeze(1) * w2;  // linear in the patches, so the shards' dW add up to the minibatch's
  if (world.size() > 1) {
    std::vector<torch::Tensor> sum = {dw};
    world.all_reduce_sum(sum);
  }
  apply(w2, dw, adaptive_rates(w2, hyper_));
}

void reference_step(torch::Tensor& weights, const torch::Tensor& x, const Hyper& hyper, const ConvGeometry& g) {
  torch::NoGradGuard no_grad;
  const auto xp = g.pad(x);
  const std::vector<std::int64_t> stride = {g.stride_h, g.stride_w}, dilation = {g.dilation_h, g.dilation_w},
                                  none = {0, 0};
  const auto u = torch::conv2d(xp, weights, torch::Tensor(), stride, none, dilation);  // B, K, Ho, Wo
  const std::int64_t b = u.size(0), k = u.size(1), ho = u.size(2), wo = u.size(3);
  const auto flat = u.transpose(0, 1).reshape({k, -1});
  const auto y = soft_wta(flat.t(), hyper.t_invert).t().reshape({k, b, ho, wo}).transpose(0, 1);
  // Y^T X: convolving the input (channels as the batch) with y (kernels as the batch) gives,
  // for every kernel element, the sum over patches of y times the input pixel it read.
  auto yx = torch::conv2d(xp.transpose(0, 1), y.transpose(0, 1), torch::Tensor(), dilation, none, stride)
                .transpose(0, 1);
  yx = yx.slice(2, 0, g.kernel_h).slice(3, 0, g.kernel_w);
  const auto yu = (y * u).sum({0, 2, 3});
  auto w2 = weights.view({k, -1});
  const auto dw = yx.reshape({k, -1}) - yu.unsqueeze(1) * w2;
  apply(w2, dw, adaptive_rates(w2, hyper));
}

}  // namespace hebbkit::softhebb
