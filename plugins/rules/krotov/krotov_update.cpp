#include "krotov_update.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace hebbkit::krotov {
namespace {

struct Ranked {
  torch::Tensor winner, kth;                  // (batch) unit indices
  torch::Tensor winner_current, kth_current;  // (batch) their currents
};

// Each row's strongest and k-th strongest unit. On CPU a per-row scan that keeps the k
// best in a small sorted buffer: torch::topk costs ~15% of the GEMM at MNIST sizes, this
// a few percent. Other devices use topk.
Ranked rank_units(const torch::Tensor& currents, std::int64_t k) {
  if (!currents.device().is_cpu()) {
    const auto [values, indices] = currents.topk(k, /*dim=*/1);
    return {indices.select(1, 0), indices.select(1, k - 1), values.select(1, 0), values.select(1, k - 1)};
  }
  const auto c = currents.contiguous();
  const std::int64_t rows = c.size(0), units = c.size(1);
  auto winner = torch::empty({rows}, torch::kInt64), kth = torch::empty({rows}, torch::kInt64);
  auto winner_current = torch::empty({rows}, c.options()), kth_current = torch::empty({rows}, c.options());
  AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "krotov_rank_units", [&] {
    const scalar_t* data = c.data_ptr<scalar_t>();
    auto* w_idx = winner.data_ptr<std::int64_t>();
    auto* k_idx = kth.data_ptr<std::int64_t>();
    auto* w_val = winner_current.data_ptr<scalar_t>();
    auto* k_val = kth_current.data_ptr<scalar_t>();
    at::parallel_for(0, rows, 8, [&](std::int64_t begin, std::int64_t end) {
      std::vector<scalar_t> best_val(k);
      std::vector<std::int64_t> best_idx(k);
      for (std::int64_t r = begin; r < end; ++r) {
        const scalar_t* row = data + r * units;
        std::int64_t filled = 0;
        // The k-th best so far, in a local so the common case is one compare per unit.
        scalar_t threshold = -std::numeric_limits<scalar_t>::infinity();
        for (std::int64_t u = 0; u < units; ++u) {
          const scalar_t v = row[u];
          if (filled == k && !(v > threshold)) continue;
          // Insert v keeping best_val sorted descending; earlier units win ties, as in a stable sort.
          std::int64_t pos = filled < k ? filled++ : k - 1;
          while (pos > 0 && v > best_val[pos - 1]) {
            best_val[pos] = best_val[pos - 1];
            best_idx[pos] = best_idx[pos - 1];
            --pos;
          }
          best_val[pos] = v;
          best_idx[pos] = u;
          if (filled == k) threshold = best_val[k - 1];
        }
        w_idx[r] = best_idx[0];
        k_idx[r] = best_idx[k - 1];
        w_val[r] = best_val[0];
        k_val[r] = best_val[k - 1];
      }
    });
  });
  return {winner, kth, winner_current, kth_current};
}

// The update on the touched rows, fused for CPU: one pass builds ds row by row (and its
// max |ds|), a second applies it and refreshes the cached powers. The generic tensor path
// makes ~12 passes over the touched rows; at CIFAR-10 sizes that is all of W.
template <class scalar_t>
void apply_update_cpu(torch::Tensor& w, torch::Tensor& wp, const torch::Tensor& x, const torch::Tensor& rows,
                      const torch::Tensor& win_slot, const torch::Tensor& kth_slot, const Ranked& ranked,
                      const Hyper& hyper, double eps) {
  const std::int64_t batch = x.size(0), inputs = x.size(1), touched = rows.size(0);
  const auto* ws = win_slot.data_ptr<std::int64_t>();
  const auto* ks = kth_slot.data_ptr<std::int64_t>();
  const auto* wc = ranked.winner_current.data_ptr<scalar_t>();
  const auto* kc = ranked.kth_current.data_ptr<scalar_t>();
  const auto delta = static_cast<scalar_t>(hyper.delta);

  // For each touched row, the samples that feed it and with which coefficient (CSR).
  std::vector<std::int64_t> offset(touched + 1, 0);
  for (std::int64_t b = 0; b < batch; ++b) ++offset[ws[b] + 1], ++offset[ks[b] + 1];
  for (std::int64_t r = 0; r < touched; ++r) offset[r + 1] += offset[r];
  std::vector<std::int64_t> sample(2 * batch), fill(offset.begin(), offset.end() - 1);
  std::vector<scalar_t> coef(2 * batch);
  std::vector<scalar_t> xx(touched, 0);
  for (std::int64_t b = 0; b < batch; ++b) {
    sample[fill[ws[b]]] = b, coef[fill[ws[b]]++] = 1;
    sample[fill[ks[b]]] = b, coef[fill[ks[b]]++] = -delta;
    xx[ws[b]] += wc[b];
    xx[ks[b]] -= delta * kc[b];
  }

  const auto* xd = x.data_ptr<scalar_t>();
  auto* wd = w.data_ptr<scalar_t>();
  auto* wpd = wp.data_ptr<scalar_t>();
  const auto* row_index = rows.data_ptr<std::int64_t>();
  // Every element is written before it is read: no need to zero the buffer.
  std::unique_ptr<scalar_t[]> ds(new scalar_t[static_cast<std::size_t>(touched * inputs)]);
  std::vector<scalar_t> row_max(touched, 0);
  at::parallel_for(0, touched, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      scalar_t* d = ds.get() + r * inputs;
      const scalar_t* wr = wd + row_index[r] * inputs;
      for (std::int64_t j = 0; j < inputs; ++j) d[j] = -xx[r] * wr[j];
      for (std::int64_t e = offset[r]; e < offset[r + 1]; ++e) {
        const scalar_t* xs = xd + sample[e] * inputs;
        const scalar_t c = coef[e];
        for (std::int64_t j = 0; j < inputs; ++j) d[j] += c * xs[j];
      }
      scalar_t m = 0;
      for (std::int64_t j = 0; j < inputs; ++j) m = std::max(m, std::abs(d[j]));
      row_max[r] = m;
    }
  });
  const double nc = std::max<double>(*std::max_element(row_max.begin(), row_max.end()), hyper.prec);
  const auto scale = static_cast<scalar_t>(eps / nc);
  const double p = hyper.p;
  at::parallel_for(0, touched, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const scalar_t* d = ds.get() + r * inputs;
      scalar_t* wr = wd + row_index[r] * inputs;
      scalar_t* pr = wpd + row_index[r] * inputs;
      for (std::int64_t j = 0; j < inputs; ++j) wr[j] += scale * d[j];
      if (p == 2.0) {
        std::copy(wr, wr + inputs, pr);
      } else if (p == 3.0) {
        for (std::int64_t j = 0; j < inputs; ++j) pr[j] = wr[j] * std::abs(wr[j]);
      } else {
        for (std::int64_t j = 0; j < inputs; ++j)
          pr[j] = std::copysign(static_cast<scalar_t>(std::pow(std::abs(wr[j]), p - 1)), wr[j]);
      }
    }
  });
}

}  // namespace

torch::Tensor powered(const torch::Tensor& w, double p) {
  if (p == 2.0) return w.clone();
  if (p == 3.0) return w * w.abs();  // the paper's MNIST setting, without a pow()
  return torch::sign(w) * torch::abs(w).pow(p - 1);
}

Synapses::Synapses(torch::Tensor weights, Hyper hyper)
    : w_(std::move(weights)), wp_(powered(w_, hyper.p)), hyper_(hyper) {}

Synapses::Synapses(torch::Tensor weights, torch::Tensor powered_weights, Hyper hyper)
    : w_(std::move(weights)), wp_(std::move(powered_weights)), hyper_(hyper) {}

std::int64_t Synapses::step(const torch::Tensor& x, double eps) {
  torch::NoGradGuard no_grad;
  const std::int64_t batch = x.size(0);
  // The one GEMM: currents of every unit for every sample, (batch, hidden).
  const auto currents = torch::mm(x, wp_.t());
  const Ranked ranked = rank_units(currents, hyper_.k);

  // The rows that change: winners and k-th units; `slot` maps each sample's two units
  // to their row in the compact update.
  const auto both = torch::cat({ranked.winner, ranked.kth});
  auto [rows, slot, unused] = torch::_unique2(both, /*sorted=*/true, /*return_inverse=*/true);
  const auto win_slot = slot.slice(0, 0, batch).contiguous(), kth_slot = slot.slice(0, batch).contiguous();
  const std::int64_t touched = rows.size(0);
  if (x.device().is_cpu() && x.is_contiguous() && w_.is_contiguous() && wp_.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "krotov_update", [&] {
      apply_update_cpu<scalar_t>(w_, wp_, x, rows, win_slot, kth_slot, ranked, hyper_, eps);
    });
    return touched;
  }

  // g V^T on the touched rows: each sample adds its input to its winner's row and
  // subtracts delta times it from its k-th unit's row. g has two non-zeros per column,
  // so this is a scatter, not a product.
  auto ds = torch::zeros({touched, x.size(1)}, x.options());
  ds.index_add_(0, win_slot, x);
  ds.index_add_(0, kth_slot, x, -hyper_.delta);

  // xx = sum_b g[u,b] I[u,b]: the ranking already returned each sample's two currents.
  auto xx = torch::zeros({touched}, x.options());
  xx.index_add_(0, win_slot, ranked.winner_current);
  xx.index_add_(0, kth_slot, ranked.kth_current, -hyper_.delta);

  const auto w_rows = w_.index_select(0, rows);
  ds -= xx.unsqueeze(1) * w_rows;
  // Rows outside the touched set have ds = 0, so the max over touched rows is the max.
  const auto nc = torch::clamp_min(ds.abs().max(), hyper_.prec);
  const auto updated = w_rows + ds * (eps / nc);
  w_.index_copy_(0, rows, updated);
  wp_.index_copy_(0, rows, powered(updated, hyper_.p));
  return touched;
}

torch::Tensor Synapses::norm_error() const {
  torch::NoGradGuard no_grad;
  return (w_.abs().pow(hyper_.p).sum(1) - 1).abs();
}

void dense_reference_step(torch::Tensor& w, const torch::Tensor& x, const Hyper& hyper, double eps) {
  torch::NoGradGuard no_grad;
  const auto v = x.t();                                   // inputs x batch
  const auto wp = torch::sign(w) * torch::abs(w).pow(hyper.p - 1);
  const auto currents = torch::mm(wp, v);                 // hidden x batch
  const auto order = currents.argsort(/*dim=*/0, /*descending=*/true);
  auto g = torch::zeros_like(currents);
  const std::int64_t batch = x.size(0);
  for (std::int64_t b = 0; b < batch; ++b) {
    g.index_put_({order[0][b], b}, 1.0);
    g.index_put_({order[hyper.k - 1][b], b}, -hyper.delta);
  }
  const auto xx = (g * currents).sum(1);
  const auto ds = torch::mm(g, v.t()) - xx.unsqueeze(1) * w;
  const auto nc = std::max(ds.abs().max().item<double>(), hyper.prec);
  w += eps * ds / nc;
}

}  // namespace hebbkit::krotov
