#include "conv_update.hpp"

#include <algorithm>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/types.h>

namespace hebbkit::krotov {
namespace {

// The normalised step W += eps ds / nc, nc the max |ds| overall or per kernel, floored at prec.
void apply_normalised(torch::Tensor& w2, const torch::Tensor& ds, Normalise normalise, double prec, double eps) {
  if (normalise == Normalise::Global) {
    const double nc = std::max(ds.abs().max().item<double>(), prec);
    w2.add_(ds, eps / nc);
  } else {
    w2.add_(ds / ds.abs().amax(1, /*keepdim=*/true).clamp_min(prec), eps);
  }
}

}  // namespace

ConvSynapses::ConvSynapses(torch::Tensor kernels, Hyper hyper, Normalise normalise, ConvGeometry geometry,
                           std::int64_t patch_chunk)
    : w_(kernels.contiguous()), hyper_(hyper), normalise_(normalise), geometry_(geometry),
      chunk_(std::max<std::int64_t>(1, patch_chunk)) {}

std::int64_t ConvSynapses::step(const torch::Tensor& x, double eps, Collective& world) {
  torch::NoGradGuard no_grad;
  const std::int64_t kernels = w_.size(0);
  auto w2 = w_.view({kernels, -1});
  const auto wp = powered(w2, hyper_.p).contiguous();
  auto ds = torch::zeros_like(w2);
  auto xx = torch::zeros({kernels}, w2.options());
  auto touched = torch::zeros({kernels}, w2.options());
  if (x.size(0) > 0 && !tensor_path_ && x.device().is_cpu()) {
    const auto [ho, wo] = geometry_.output_size(x.size(2), x.size(3));
    step_cpu(geometry_.pad(x).contiguous(), ho, wo, wp, ds, xx, touched);
  } else if (x.size(0) > 0) {
    step_tensors(x, wp, ds, xx, touched);
  }
  // ds and xx are sums over patches: the processes' shards add up to the minibatch's (a
  // process whose shard of a small last minibatch is empty still takes part).
  std::vector<torch::Tensor> sums = {ds, xx, touched};
  world.all_reduce_sum(sums);
  ds -= xx.unsqueeze(1) * w2;
  apply_normalised(w2, ds, normalise_, hyper_.prec, eps);
  return touched.gt(0).sum().item<std::int64_t>();
}

void ConvSynapses::step_cpu(const torch::Tensor& xp, std::int64_t ho, std::int64_t wo, const torch::Tensor& wp,
                            torch::Tensor& ds, torch::Tensor& xx, torch::Tensor& touched) {
  const std::int64_t batch = xp.size(0);
  const std::int64_t dim = wp.size(1), total = batch * ho * wo;
  if (!patches_.defined() || patches_.scalar_type() != xp.scalar_type() || patches_.size(1) != dim)
    patches_ = torch::empty({std::min(chunk_, total), dim}, xp.options());
  else if (patches_.size(0) < std::min(chunk_, total))
    patches_ = torch::empty({std::min(chunk_, total), dim}, xp.options());
  AT_DISPATCH_FLOATING_TYPES(xp.scalar_type(), "krotov_conv_step", [&] {
    auto* pd = patches_.data_ptr<scalar_t>();
    auto* dsd = ds.data_ptr<scalar_t>();
    auto* xxd = xx.data_ptr<scalar_t>();
    auto* touchedd = touched.data_ptr<scalar_t>();
    const auto delta = static_cast<scalar_t>(hyper_.delta);
    for (std::int64_t start = 0; start < total; start += chunk_) {
      const std::int64_t n = std::min(chunk_, total - start);
      geometry_.gather(xp, start, n, patches_);
      const auto chunk = patches_.slice(0, 0, n);
      const Ranked ranked = rank_units(torch::mm(chunk, wp.t()), hyper_.k);
      const auto* wi = ranked.winner.data_ptr<std::int64_t>();
      const auto* ki = ranked.kth.data_ptr<std::int64_t>();
      const auto* wc = ranked.winner_current.data_ptr<scalar_t>();
      const auto* kc = ranked.kth_current.data_ptr<scalar_t>();
      for (std::int64_t r = 0; r < n; ++r) {
        xxd[wi[r]] += wc[r], xxd[ki[r]] -= delta * kc[r];
        touchedd[wi[r]] = touchedd[ki[r]] = 1;
      }
      // Each thread owns a range of columns of every row of ds: no two threads write one
      // element, and every element adds its patches in the same order whatever the split.
      at::parallel_for(0, dim, 64, [&](std::int64_t j0, std::int64_t j1) {
        for (std::int64_t r = 0; r < n; ++r) {
          const scalar_t* src = pd + r * dim;
          scalar_t* to_winner = dsd + wi[r] * dim;
          scalar_t* to_kth = dsd + ki[r] * dim;
          for (std::int64_t j = j0; j < j1; ++j) to_winner[j] += src[j];
          for (std::int64_t j = j0; j < j1; ++j) to_kth[j] -= delta * src[j];
        }
      });
    }
  });
}

void ConvSynapses::step_tensors(const torch::Tensor& x, const torch::Tensor& wp, torch::Tensor& ds, torch::Tensor& xx,
                                torch::Tensor& touched) {
  const auto [ho, wo] = geometry_.output_size(x.size(2), x.size(3));
  const std::int64_t images = std::max<std::int64_t>(1, chunk_ / (ho * wo));
  for (std::int64_t s = 0; s < x.size(0); s += images) {
    const auto patches = geometry_.unfold(x.slice(0, s, std::min(x.size(0), s + images)));
    const Ranked ranked = rank_units(torch::mm(patches, wp.t()), hyper_.k);
    ds.index_add_(0, ranked.winner, patches);
    ds.index_add_(0, ranked.kth, patches, -hyper_.delta);
    xx.index_add_(0, ranked.winner, ranked.winner_current);
    xx.index_add_(0, ranked.kth, ranked.kth_current, -hyper_.delta);
    touched.index_fill_(0, ranked.winner, 1);
    touched.index_fill_(0, ranked.kth, 1);
  }
}

void ConvSynapses::constrain_signs(const torch::Tensor& channel_signs) {
  auto w2 = w_.view({w_.size(0), -1});
  constrain_to_signs(w2, channel_signs.repeat_interleave(w_.size(2) * w_.size(3)));
}

torch::Tensor ConvSynapses::norm_error() const {
  torch::NoGradGuard no_grad;
  return (w_.abs().pow(hyper_.p).flatten(1).sum(1) - 1).abs();
}

void conv_reference_step(torch::Tensor& kernels, const torch::Tensor& x, const Hyper& hyper, Normalise normalise,
                         const ConvGeometry& geometry, double eps) {
  torch::NoGradGuard no_grad;
  const auto patches = geometry.unfold(x);                       // P x D
  auto w2 = kernels.view({kernels.size(0), -1});
  const auto wp = torch::sign(w2) * torch::abs(w2).pow(hyper.p - 1);
  const auto currents = torch::mm(wp, patches.t());               // K x P
  const auto order = std::get<1>(currents.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  auto g = torch::zeros_like(currents);
  const auto columns = torch::arange(currents.size(1), torch::TensorOptions().dtype(torch::kLong));
  g.index_put_({order[0], columns}, 1.0);
  g.index_put_({order[hyper.k - 1], columns}, -hyper.delta);
  const auto xx = (g * currents).sum(1);
  const auto ds = torch::mm(g, patches) - xx.unsqueeze(1) * w2;
  apply_normalised(w2, ds, normalise, hyper.prec, eps);
}

}  // namespace hebbkit::krotov
