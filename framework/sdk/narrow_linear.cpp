#include "hebbkit/narrow_linear.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/vector_clones.hpp"

namespace hebbkit {
namespace {

constexpr std::int64_t kLanes = 16;       // one AVX-512 register of floats
constexpr std::int64_t kGroup = 4;        // classes whose sums are kept in registers together
constexpr std::int64_t kMaxOutputs = 64;  // beyond this a BLAS GEMM is the better tool

// out[k] = <x, w[k]> for four rows of weights, over n inputs. `next` (may be null): the row
// to be read after x, fetched from memory meanwhile (rows read in place lie anywhere in a
// large set; one row at a time leaves the loop waiting on memory).
HEBBKIT_VECTOR_CLONES void dot4(const float* __restrict x, const float* next, const float* __restrict w0,
                                const float* __restrict w1, const float* __restrict w2, const float* __restrict w3,
                                std::int64_t n, float* __restrict out) {
  float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
  std::int64_t f = 0;
  for (; f + kLanes <= n; f += kLanes) {
    if (next) __builtin_prefetch(next + f, 0, 2);
    for (std::int64_t l = 0; l < kLanes; ++l) {
      const float v = x[f + l];
      a0[l] += v * w0[f + l];
      a1[l] += v * w1[f + l];
      a2[l] += v * w2[f + l];
      a3[l] += v * w3[f + l];
    }
  }
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (std::int64_t l = 0; l < kLanes; ++l) {
    s0 += a0[l];
    s1 += a1[l];
    s2 += a2[l];
    s3 += a3[l];
  }
  for (; f < n; ++f) {
    s0 += x[f] * w0[f];
    s1 += x[f] * w1[f];
    s2 += x[f] * w2[f];
    s3 += x[f] * w3[f];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

// o_k[f0, f1) = sum_b g[b, k] x[row b, f0, f1) for four classes k (their g columns strided by
// `classes`), row b being index[b] (b without an index); f1 - f0 is a multiple of kLanes
// except at the end of a row.
HEBBKIT_VECTOR_CLONES void outer4(const float* __restrict x, const std::int64_t* index, std::int64_t rows,
                                  std::int64_t width,
                                  const float* __restrict g0, const float* __restrict g1, const float* __restrict g2,
                                  const float* __restrict g3, std::int64_t classes, float* __restrict o0,
                                  float* __restrict o1, float* __restrict o2, float* __restrict o3, std::int64_t f0,
                                  std::int64_t f1) {
  std::int64_t f = f0;
  for (; f + kLanes <= f1; f += kLanes) {
    float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
    for (std::int64_t b = 0; b < rows; ++b) {
      const float* xb = x + (index ? index[b] : b) * width + f;
      const float c0 = g0[b * classes], c1 = g1[b * classes], c2 = g2[b * classes], c3 = g3[b * classes];
      for (std::int64_t l = 0; l < kLanes; ++l) {
        a0[l] += c0 * xb[l];
        a1[l] += c1 * xb[l];
        a2[l] += c2 * xb[l];
        a3[l] += c3 * xb[l];
      }
    }
    for (std::int64_t l = 0; l < kLanes; ++l) {
      o0[f + l] = a0[l];
      o1[f + l] = a1[l];
      o2[f + l] = a2[l];
      o3[f + l] = a3[l];
    }
  }
  for (; f < f1; ++f) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (std::int64_t b = 0; b < rows; ++b) {
      const float v = x[(index ? index[b] : b) * width + f];
      s0 += g0[b * classes] * v;
      s1 += g1[b * classes] * v;
      s2 += g2[b * classes] * v;
      s3 += g3[b * classes] * v;
    }
    o0[f] = s0;
    o1[f] = s1;
    o2[f] = s2;
    o3[f] = s3;
  }
}

bool narrow(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.dim() == 2 && t.is_contiguous();
}

// The selected rows' count, after checking that `rows` (int64, one dimension) selects rows of x.
std::int64_t selected(const torch::Tensor& x, const torch::Tensor& rows, const char* what) {
  if (!rows.defined()) return x.size(0);
  if (rows.dim() != 1 || rows.scalar_type() != torch::kInt64)
    throw DataError(fmt::format("{}: the row index must be one-dimensional int64", what));
  if (rows.numel() == 0) return 0;
  // A plain loop on the CPU: a minibatch's hundred numbers are not worth two tensor ops.
  std::int64_t low = 0, high = 0;
  if (rows.device().is_cpu()) {
    const auto index = rows.contiguous();
    const std::int64_t* p = index.data_ptr<std::int64_t>();
    low = high = p[0];
    for (std::int64_t i = 1; i < index.numel(); ++i) {
      low = std::min(low, p[i]);
      high = std::max(high, p[i]);
    }
  } else {
    const auto [lo, hi] = torch::aminmax(rows);
    low = lo.item<std::int64_t>();
    high = hi.item<std::int64_t>();
  }
  if (low < 0 || high >= x.size(0))
    throw DataError(fmt::format("{}: row index {}..{} outside the {} rows", what, low, high, x.size(0)));
  return rows.size(0);
}

// Multiply-adds below which a product runs on one thread (a fork and join costs about as much).
constexpr std::int64_t kGrainElements = 1 << 16;

}  // namespace

torch::Tensor narrow_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                            const torch::Tensor& row_index) {
  if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1) ||
      (bias.defined() && (bias.dim() != 1 || bias.size(0) != w.size(0))))
    throw DataError(fmt::format("narrow_linear: inputs {} do not match weights {} and bias {}",
                                fmt::join(x.sizes(), "x"), fmt::join(w.sizes(), "x"),
                                bias.defined() ? fmt::format("{}", fmt::join(bias.sizes(), "x")) : "none"));
  torch::NoGradGuard no_grad;
  const std::int64_t rows = selected(x, row_index, "narrow_linear"), width = x.size(1), classes = w.size(0);
  if (!narrow(x) || !narrow(w) || classes > kMaxOutputs || (bias.defined() && !narrow(bias.unsqueeze(0))) ||
      (row_index.defined() && !row_index.device().is_cpu())) {
    const auto xs = row_index.defined() ? x.index_select(0, row_index.to(x.device())) : x;
    return bias.defined() ? torch::addmm(bias, xs, w.t()) : torch::mm(xs, w.t());
  }
  const auto index = row_index.defined() ? row_index.contiguous() : row_index;
  const std::int64_t* ip = index.defined() ? index.data_ptr<std::int64_t>() : nullptr;
  auto out = torch::empty({rows, classes}, x.options());
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* op = out.data_ptr<float>();
  // A group short of four classes reads a row of zeros in the missing places.
  const std::vector<float> zeros(classes % kGroup ? width : 0, 0.0f);
  const auto weights = [&](std::int64_t k) { return k < classes ? wp + k * width : zeros.data(); };
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / std::max<std::int64_t>(1, width * classes));
  at::parallel_for(0, rows, grain, [&](std::int64_t begin, std::int64_t end) {
    std::array<float, kGroup> sums;
    for (std::int64_t r = begin; r < end; ++r)
      for (std::int64_t k = 0; k < classes; k += kGroup) {
        const float* next = k == 0 && r + 1 < end ? xp + (ip ? ip[r + 1] : r + 1) * width : nullptr;
        dot4(xp + (ip ? ip[r] : r) * width, next, weights(k), weights(k + 1), weights(k + 2), weights(k + 3), width,
             sums.data());
        for (std::int64_t i = 0; i < kGroup && k + i < classes; ++i)
          op[r * classes + k + i] = sums[i] + (bp ? bp[k + i] : 0.0f);
      }
  });
  return out;
}

torch::Tensor narrow_linear_weight_gradient(const torch::Tensor& g, const torch::Tensor& x,
                                            const torch::Tensor& row_index) {
  if (g.dim() != 2 || x.dim() != 2)
    throw DataError(fmt::format("narrow_linear_weight_gradient: gradient {} and inputs {} are not matrices",
                                fmt::join(g.sizes(), "x"), fmt::join(x.sizes(), "x")));
  torch::NoGradGuard no_grad;
  const std::int64_t rows = selected(x, row_index, "narrow_linear_weight_gradient"), width = x.size(1),
                     classes = g.size(1);
  if (g.size(0) != rows)
    throw DataError(fmt::format("narrow_linear_weight_gradient: gradient {} and {} selected input rows differ",
                                fmt::join(g.sizes(), "x"), rows));
  if (!narrow(x) || !narrow(g) || classes > kMaxOutputs || (row_index.defined() && !row_index.device().is_cpu()))
    return torch::mm(g.t(), row_index.defined() ? x.index_select(0, row_index.to(x.device())) : x);
  const auto index = row_index.defined() ? row_index.contiguous() : row_index;
  const std::int64_t* ip = index.defined() ? index.data_ptr<std::int64_t>() : nullptr;
  auto out = torch::empty({classes, width}, x.options());
  const float* xp = x.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // The missing classes of a short group read zero gradients and write into scratch.
  const std::vector<float> zero_g(rows * classes, 0.0f);
  const auto column = [&](std::int64_t k) { return k < classes ? gp + k : zero_g.data(); };
  const std::int64_t blocks = (width + kLanes - 1) / kLanes;
  const std::int64_t grain =
      std::max<std::int64_t>(1, kGrainElements / std::max<std::int64_t>(1, rows * kLanes * classes));
  at::parallel_for(0, blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t f0 = begin * kLanes, f1 = std::min(width, end * kLanes);
    std::vector<float> scratch(classes % kGroup ? width : 0);
    const auto target = [&](std::int64_t k) { return k < classes ? op + k * width : scratch.data(); };
    for (std::int64_t k = 0; k < classes; k += kGroup)
      outer4(xp, ip, rows, width, column(k), column(k + 1), column(k + 2), column(k + 3), classes, target(k),
             target(k + 1), target(k + 2), target(k + 3), f0, f1);
  });
  return out;
}

}  // namespace hebbkit
