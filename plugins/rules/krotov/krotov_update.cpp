#include "krotov_update.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <hebbkit/vector_clones.hpp>
#include <torch/types.h>

namespace hebbkit::krotov {
namespace {

// The k best of `count` values by (value descending, index ascending): a small sorted
// buffer, so the order does not depend on the order the values are offered in.
template <class scalar_t>
class TopK {
 public:
  explicit TopK(std::int64_t k) : k_(k), val_(k), idx_(k) {}
  void clear() { filled_ = 0; }
  void offer(scalar_t v, std::int64_t u) {
    if (filled_ == k_ && !beats(v, u, val_[k_ - 1], idx_[k_ - 1])) return;
    std::int64_t pos = filled_ < k_ ? filled_++ : k_ - 1;
    while (pos > 0 && beats(v, u, val_[pos - 1], idx_[pos - 1])) {
      val_[pos] = val_[pos - 1];
      idx_[pos] = idx_[pos - 1];
      --pos;
    }
    val_[pos] = v;
    idx_[pos] = u;
  }
  scalar_t value(std::int64_t i) const { return val_[i]; }
  std::int64_t index(std::int64_t i) const { return idx_[i]; }

 private:
  static bool beats(scalar_t v, std::int64_t u, scalar_t w, std::int64_t x) { return v > w || (v == w && u < x); }
  std::int64_t k_, filled_ = 0;
  std::vector<scalar_t> val_;
  std::vector<std::int64_t> idx_;
};

// Units are viewed as `kStripes` interleaved stripes (unit u in stripe u % kStripes). A
// unit outside the stripes holding the k largest stripe maxima is below the k-th best
// value, so after one vectorisable max pass only those stripes are scanned exactly.
constexpr std::int64_t kStripes = 64;

// m[j] = max of row[j], row[j + kStripes], ... over the first `full` values. With the maxima
// in a local array the compiler keeps them in registers (4 AVX-512 ones for floats) and
// emits vmaxps, whose semantics `a > b ? a : b` this is.
template <class scalar_t>
void stripe_maxima_loop(const scalar_t* __restrict row, std::int64_t full, scalar_t* __restrict m) {
  scalar_t acc[kStripes];
  for (std::int64_t j = 0; j < kStripes; ++j) acc[j] = row[j];
  for (std::int64_t c = kStripes; c < full; c += kStripes)
    for (std::int64_t j = 0; j < kStripes; ++j) acc[j] = row[c + j] > acc[j] ? row[c + j] : acc[j];
  for (std::int64_t j = 0; j < kStripes; ++j) m[j] = acc[j];
}
HEBBKIT_VECTOR_CLONES void stripe_maxima(const float* row, std::int64_t full, float* m) {
  stripe_maxima_loop(row, full, m);
}
HEBBKIT_VECTOR_CLONES void stripe_maxima(const double* row, std::int64_t full, double* m) {
  stripe_maxima_loop(row, full, m);
}

// The k best units of one row into `best`. `stripes` and `candidates` are scratch.
template <class scalar_t>
void rank_row(const scalar_t* row, std::int64_t units, std::int64_t k, TopK<scalar_t>& best, TopK<scalar_t>& stripes,
              std::vector<std::int64_t>& candidates) {
  best.clear();
  const std::int64_t full = units / kStripes * kStripes;
  if (k * 4 > kStripes || full == 0) {
    for (std::int64_t u = 0; u < units; ++u) best.offer(row[u], u);
    return;
  }
  scalar_t m[kStripes];
  stripe_maxima(row, full, m);
  stripes.clear();
  for (std::int64_t j = 0; j < kStripes; ++j) stripes.offer(m[j], j);
  // The k-th best value is at least the k-th largest stripe maximum: nothing below it counts.
  const scalar_t threshold = stripes.value(k - 1);
  candidates.clear();
  for (std::int64_t j = 0; j < kStripes; ++j) {
    if (!(m[j] >= threshold)) continue;
    for (std::int64_t u = j; u < full; u += kStripes)
      if (row[u] >= threshold) candidates.push_back(u);
  }
  for (const auto u : candidates) best.offer(row[u], u);
  for (std::int64_t u = full; u < units; ++u) best.offer(row[u], u);  // past the last whole stripe row
}

// The touched units in ascending order, and each sample's winner and k-th unit as a
// position in that list. A marker per unit instead of a sort: hidden is small.
struct Touched {
  std::vector<std::int64_t> rows, win_slot, kth_slot;
};

Touched touched_rows(const Ranked& ranked, std::int64_t hidden) {
  const std::int64_t batch = ranked.winner.size(0);
  const auto* wi = ranked.winner.data_ptr<std::int64_t>();
  const auto* ki = ranked.kth.data_ptr<std::int64_t>();
  std::vector<std::int64_t> slot_of(hidden, -1);
  for (std::int64_t b = 0; b < batch; ++b) slot_of[wi[b]] = slot_of[ki[b]] = 0;
  Touched out;
  for (std::int64_t u = 0; u < hidden; ++u)
    if (slot_of[u] == 0) slot_of[u] = static_cast<std::int64_t>(out.rows.size()), out.rows.push_back(u);
  out.win_slot.resize(batch);
  out.kth_slot.resize(batch);
  for (std::int64_t b = 0; b < batch; ++b) out.win_slot[b] = slot_of[wi[b]], out.kth_slot[b] = slot_of[ki[b]];
  return out;
}

template <class scalar_t>
scalar_t max_abs(const scalar_t* d, std::int64_t n) {
#if defined(__SSE2__)
  if constexpr (std::is_same_v<scalar_t, float>) {
    const __m128 sign = _mm_set1_ps(-0.0f);
    __m128 a = _mm_setzero_ps(), b = _mm_setzero_ps();
    std::int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      a = _mm_max_ps(_mm_andnot_ps(sign, _mm_loadu_ps(d + j)), a);
      b = _mm_max_ps(_mm_andnot_ps(sign, _mm_loadu_ps(d + j + 4)), b);
    }
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, _mm_max_ps(a, b));
    float m = std::max({lanes[0], lanes[1], lanes[2], lanes[3]});
    for (; j < n; ++j) m = std::max(m, std::abs(d[j]));
    return m;
  }
#endif
  scalar_t m = 0;
  for (std::int64_t j = 0; j < n; ++j) m = std::max(m, std::abs(d[j]));
  return m;
}

// d[j] += c * x[j] over a column range.
HEBBKIT_VECTOR_CLONES void add_scaled(float* __restrict d, const float* __restrict x, float c, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) d[j] += c * x[j];
}
HEBBKIT_VECTOR_CLONES void add_scaled(double* __restrict d, const double* __restrict x, double c, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) d[j] += c * x[j];
}

// The update on the touched rows, for CPU. Each thread owns a range of columns of every
// touched row, so each input row is read once (a split by rows reads a sample's input twice:
// for its winner and for its k-th unit); at CIFAR-10 sizes those reads are most of the
// update's cost. Pass one builds ds in `scratch` and its max |ds|; pass two applies the
// normalised step and refreshes the cached powers. Every element sees the same operations
// in the same order (samples ascending) whatever the split, so the result does not depend
// on the thread count. Recomputing ds in pass two instead of storing it was tried: reading
// the inputs twice costs more than the stored ds.
template <class scalar_t>
void apply_update_cpu(torch::Tensor& w, torch::Tensor& wp, const torch::Tensor& x, const Ranked& ranked,
                      const Touched& touched, const Hyper& hyper, double eps, torch::Tensor& scratch) {
  const std::int64_t batch = x.size(0), inputs = x.size(1), count = static_cast<std::int64_t>(touched.rows.size());
  if (!scratch.defined() || scratch.numel() < count * inputs || scratch.scalar_type() != x.scalar_type())
    scratch = torch::empty({std::max(count, std::min(w.size(0), 2 * batch)) * inputs}, x.options());
  auto* ds = scratch.data_ptr<scalar_t>();
  const auto* xd = x.data_ptr<scalar_t>();
  auto* wd = w.data_ptr<scalar_t>();
  auto* wpd = wp.data_ptr<scalar_t>();
  const auto* wc = ranked.winner_current.data_ptr<scalar_t>();
  const auto* kc = ranked.kth_current.data_ptr<scalar_t>();
  const auto delta = static_cast<scalar_t>(hyper.delta);
  const auto& rows = touched.rows;
  const auto& ws = touched.win_slot;
  const auto& ks = touched.kth_slot;

  // xx = sum_b g[u,b] I[u,b] per touched row: the ranking returned each sample's two currents.
  std::vector<scalar_t> xx(count, 0);
  for (std::int64_t b = 0; b < batch; ++b) xx[ws[b]] += wc[b], xx[ks[b]] -= delta * kc[b];

  std::vector<scalar_t> thread_max(std::max(1, at::get_num_threads()), 0);
  constexpr std::int64_t grain = 64;  // columns: whole cache lines per thread
  at::parallel_for(0, inputs, grain, [&](std::int64_t j0, std::int64_t j1) {
    const std::int64_t n = j1 - j0;
    for (std::int64_t r = 0; r < count; ++r) {
      scalar_t* d = ds + r * inputs + j0;
      const scalar_t* wr = wd + rows[r] * inputs + j0;
      const scalar_t minus_xx = -xx[r];
      for (std::int64_t j = 0; j < n; ++j) d[j] = minus_xx * wr[j];
    }
    for (std::int64_t b = 0; b < batch; ++b) {
      const scalar_t* xs = xd + b * inputs + j0;
      add_scaled(ds + ws[b] * inputs + j0, xs, scalar_t(1), n);
      add_scaled(ds + ks[b] * inputs + j0, xs, -delta, n);
    }
    scalar_t m = 0;
    for (std::int64_t r = 0; r < count; ++r) m = std::max(m, max_abs(ds + r * inputs + j0, n));
    auto& slot = thread_max[at::get_thread_num()];
    slot = std::max(slot, m);
  });
  const double nc = std::max<double>(*std::max_element(thread_max.begin(), thread_max.end()), hyper.prec);
  const auto scale = static_cast<scalar_t>(eps / nc);
  const double p = hyper.p;
  const bool aliased = wd == wpd;  // p = 2: the powered weights are the weights
  at::parallel_for(0, inputs, grain, [&](std::int64_t j0, std::int64_t j1) {
    const std::int64_t n = j1 - j0;
    for (std::int64_t r = 0; r < count; ++r) {
      scalar_t* wr = wd + rows[r] * inputs + j0;
      add_scaled(wr, ds + r * inputs + j0, scale, n);
      if (aliased) continue;
      scalar_t* pr = wpd + rows[r] * inputs + j0;
      if (p == 2.0) {
        std::copy(wr, wr + n, pr);
      } else if (p == 3.0) {
        for (std::int64_t j = 0; j < n; ++j) pr[j] = wr[j] * std::abs(wr[j]);
      } else {
        for (std::int64_t j = 0; j < n; ++j)
          pr[j] = std::copysign(static_cast<scalar_t>(std::pow(std::abs(wr[j]), p - 1)), wr[j]);
      }
    }
  });
}

}  // namespace

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
      TopK<scalar_t> best(k), stripes(k);
      std::vector<std::int64_t> candidates;
      candidates.reserve(units);
      for (std::int64_t r = begin; r < end; ++r) {
        rank_row(data + r * units, units, k, best, stripes, candidates);
        w_idx[r] = best.index(0);
        k_idx[r] = best.index(k - 1);
        w_val[r] = best.value(0);
        k_val[r] = best.value(k - 1);
      }
    });
  });
  return {winner, kth, winner_current, kth_current};
}

Ranked currents_ranked(const torch::Tensor& x, const torch::Tensor& wp, std::int64_t k) {
  const std::int64_t hidden = wp.size(0), batch = x.size(0);
  // Blocks of whole stripes, one per thread; fewer when the layer is small.
  const std::int64_t parts = std::max<std::int64_t>(
      1, std::min<std::int64_t>(at::get_num_threads(), hidden / std::max<std::int64_t>(kStripes, k * 4)));
  if (!x.device().is_cpu() || parts == 1) return rank_units(torch::mm(x, wp.t()), k);
  const std::int64_t block = (hidden + parts - 1) / parts;
  auto winner = torch::empty({batch}, torch::kInt64), kth = torch::empty({batch}, torch::kInt64);
  auto winner_current = torch::empty({batch}, x.options()), kth_current = torch::empty({batch}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "krotov_currents_ranked", [&] {
    // Each block's k best per sample: (part, sample, rank).
    std::vector<scalar_t> values(parts * batch * k);
    std::vector<std::int64_t> units(parts * batch * k);
    at::parallel_for(0, parts, 1, [&](std::int64_t p0, std::int64_t p1) {
      TopK<scalar_t> best(k), stripes(k);
      std::vector<std::int64_t> candidates;
      for (std::int64_t part = p0; part < p1; ++part) {
        const std::int64_t u0 = part * block, n = std::min(hidden, u0 + block) - u0;
        // Inside a parallel region the GEMM runs on this thread alone.
        const auto c = torch::mm(x, wp.slice(0, u0, u0 + n).t()).contiguous();
        const scalar_t* data = c.data_ptr<scalar_t>();
        candidates.reserve(n);
        for (std::int64_t b = 0; b < batch; ++b) {
          rank_row(data + b * n, n, k, best, stripes, candidates);
          const std::int64_t at = (part * batch + b) * k;
          for (std::int64_t i = 0; i < k; ++i) values[at + i] = best.value(i), units[at + i] = u0 + best.index(i);
        }
      }
    });
    auto* w_idx = winner.data_ptr<std::int64_t>();
    auto* k_idx = kth.data_ptr<std::int64_t>();
    auto* w_val = winner_current.data_ptr<scalar_t>();
    auto* k_val = kth_current.data_ptr<scalar_t>();
    TopK<scalar_t> best(k);
    for (std::int64_t b = 0; b < batch; ++b) {
      best.clear();
      for (std::int64_t part = 0; part < parts; ++part)
        for (std::int64_t i = 0, at = (part * batch + b) * k; i < k; ++i) best.offer(values[at + i], units[at + i]);
      w_idx[b] = best.index(0), k_idx[b] = best.index(k - 1);
      w_val[b] = best.value(0), k_val[b] = best.value(k - 1);
    }
  });
  return {winner, kth, winner_current, kth_current};
}

torch::Tensor powered(const torch::Tensor& w, double p) {
  if (p == 2.0) return w.clone();
  if (p == 3.0) return w * w.abs();  // the paper's MNIST setting, without a pow()
  return torch::sign(w) * torch::abs(w).pow(p - 1);
}

// At p = 2 the powered weights are the weights: one tensor, updated once.
Synapses::Synapses(torch::Tensor weights, Hyper hyper)
    : w_(std::move(weights)), wp_(hyper.p == 2.0 ? w_ : powered(w_, hyper.p)), hyper_(hyper) {}

Synapses::Synapses(torch::Tensor weights, torch::Tensor powered_weights, Hyper hyper)
    : w_(std::move(weights)), wp_(hyper.p == 2.0 ? w_ : std::move(powered_weights)), hyper_(hyper) {}

std::int64_t Synapses::step(const torch::Tensor& x, double eps, Collective& world) {
  torch::NoGradGuard no_grad;
  const std::int64_t batch = x.size(0);
  const Ranked ranked = world.size() == 1 ? rank(x) : rank_sharded(x, world);
  if (hyper_.homeostasis > 0) count_wins(ranked, batch);

  if (x.device().is_cpu() && x.is_contiguous() && w_.is_contiguous() && wp_.is_contiguous()) {
    const Touched touched = touched_rows(ranked, w_.size(0));
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "krotov_update", [&] {
      apply_update_cpu<scalar_t>(w_, wp_, x, ranked, touched, hyper_, eps, scratch_);
    });
    return static_cast<std::int64_t>(touched.rows.size());
  }

  // The rows that change: winners and k-th units; `slot` maps each sample's two units
  // to their row in the compact update.
  const auto both = torch::cat({ranked.winner, ranked.kth});
  auto [rows, slot, unused] = torch::_unique2(both, /*sorted=*/true, /*return_inverse=*/true);
  const auto win_slot = slot.slice(0, 0, batch), kth_slot = slot.slice(0, batch);
  const std::int64_t touched = rows.size(0);

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

Ranked Synapses::rank(const torch::Tensor& x) {
  // The one GEMM: currents of every unit for every sample, (batch, hidden).
  if (hyper_.homeostasis == 0) return currents_ranked(x, wp_, hyper_.k);
  const auto currents = torch::mm(x, wp_.t());
  if (!theta_.defined()) theta_ = torch::zeros({w_.size(0)}, currents.options());
  Ranked ranked = rank_units(currents - theta_, hyper_.k);
  // The update is the rule's own: it uses the currents, not the lowered ones.
  ranked.winner_current = currents.gather(1, ranked.winner.to(currents.device()).unsqueeze(1)).squeeze(1);
  ranked.kth_current = currents.gather(1, ranked.kth.to(currents.device()).unsqueeze(1)).squeeze(1);
  return ranked;
}

Ranked Synapses::rank_sharded(const torch::Tensor& x, Collective& world) {
  const std::int64_t batch = x.size(0);
  const auto range = shard_range(batch, world);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
  // Unit indices and currents in one float64 table (exact for both): one all-reduce.
  auto local = torch::empty({0, 4}, f64);
  if (range.end > range.begin) {
    const Ranked mine = rank(x.slice(0, range.begin, range.end));
    local = torch::stack({mine.winner.to(f64), mine.kth.to(f64), mine.winner_current.to(f64), mine.kth_current.to(f64)}, 1);
  }
  const auto all = gather_shards(local, batch, world);
  const auto index = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  return Ranked{all.select(1, 0).to(index).contiguous(), all.select(1, 1).to(index).contiguous(),
                all.select(1, 2).to(x.scalar_type()).contiguous(), all.select(1, 3).to(x.scalar_type()).contiguous()};
}

void Synapses::count_wins(const Ranked& ranked, std::int64_t batch) {
  const std::int64_t hidden = w_.size(0);
  if (!theta_.defined()) theta_ = torch::zeros({hidden}, w_.options());
  const auto wins = torch::bincount(ranked.winner.to(theta_.device()), {}, hidden).to(theta_.scalar_type());
  theta_.add_(wins - static_cast<double>(batch) / static_cast<double>(hidden), hyper_.homeostasis);
}

torch::Tensor Synapses::norm_error() const {
  torch::NoGradGuard no_grad;
  return (w_.abs().pow(hyper_.p).sum(1) - 1).abs();
}

void Synapses::constrain_signs(const torch::Tensor& input_signs) {
  torch::NoGradGuard no_grad;
  constrain_to_signs(w_, input_signs);
  if (wp_.data_ptr() != w_.data_ptr()) wp_.copy_(powered(w_, hyper_.p));
}

torch::Tensor dale_signs(std::int64_t inputs, double inhibitory, const torch::TensorOptions& options) {
  auto signs = torch::ones({inputs}, options);
  const auto count = static_cast<std::int64_t>(std::llround(inhibitory * inputs));
  if (count > 0) signs.index_fill_(0, torch::randperm(inputs, torch::kLong).slice(0, 0, count).to(options.device()), -1.0);
  return signs;
}

void constrain_to_signs(torch::Tensor& w, const torch::Tensor& input_signs) {
  torch::NoGradGuard no_grad;
  // sign * max(sign * w, 0): the entry if it has its input's sign, else 0.
  const auto s = input_signs.view({1, -1});
  w.copy_(s * (s * w).clamp_min(0));
}

void dense_reference_step(torch::Tensor& w, const torch::Tensor& x, const Hyper& hyper, double eps,
                          torch::Tensor* theta) {
  torch::NoGradGuard no_grad;
  const auto v = x.t();                                   // inputs x batch
  const auto wp = torch::sign(w) * torch::abs(w).pow(hyper.p - 1);
  const auto currents = torch::mm(wp, v);                 // hidden x batch
  const bool homeostatic = hyper.homeostasis > 0 && theta != nullptr;
  const auto ranked_by = homeostatic ? currents - theta->unsqueeze(1) : currents;
  const auto order = ranked_by.argsort(/*dim=*/0, /*descending=*/true);
  auto g = torch::zeros_like(currents);
  const std::int64_t batch = x.size(0), hidden = w.size(0);
  for (std::int64_t b = 0; b < batch; ++b) {
    g.index_put_({order[0][b], b}, 1.0);
    g.index_put_({order[hyper.k - 1][b], b}, -hyper.delta);
    if (homeostatic) (*theta)[order[0][b]] += hyper.homeostasis;
  }
  if (homeostatic) *theta -= hyper.homeostasis * static_cast<double>(batch) / static_cast<double>(hidden);
  const auto xx = (g * currents).sum(1);
  const auto ds = torch::mm(g, v.t()) - xx.unsqueeze(1) * w;
  const auto nc = std::max(ds.abs().max().item<double>(), hyper.prec);
  w += eps * ds / nc;
}

}  // namespace hebbkit::krotov
