#include "hebbkit/dropout.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include "hebbkit/vector_clones.hpp"

namespace hebbkit {
namespace {

// murmur3's 32-bit finaliser: every input bit flips each output bit with probability ~1/2.
inline std::uint32_t mix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// mask[i] = scale where the top 24 bits of hash(key, begin + i) reach `threshold`, else 0.
// Two rounds keyed by the two halves of the key, so neighbouring indices and neighbouring
// keys give unrelated coins; 32-bit arithmetic so that the loop vectorises.
template <class scalar_t>
inline void fill_mask_body(scalar_t* __restrict mask, std::int64_t begin, std::int64_t n, std::uint64_t key,
                           std::uint32_t threshold, scalar_t scale) {
  const auto k1 = static_cast<std::uint32_t>(key), k2 = static_cast<std::uint32_t>(key >> 32);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto index = static_cast<std::uint64_t>(begin + i);
    const std::uint32_t high = 0x9e3779b9u * static_cast<std::uint32_t>(index >> 32);
    const std::uint32_t h = mix32(mix32(static_cast<std::uint32_t>(index) ^ k1) ^ (k2 + high));
    mask[i] = (h >> 8) >= threshold ? scale : scalar_t(0);
  }
}

// target_clones does not take templates: one clone set per dtype, the body inlined into each.
HEBBKIT_VECTOR_CLONES void fill_mask(float* mask, std::int64_t begin, std::int64_t n, std::uint64_t key,
                                     std::uint32_t threshold, float scale) {
  fill_mask_body(mask, begin, n, key, threshold, scale);
}
HEBBKIT_VECTOR_CLONES void fill_mask(double* mask, std::int64_t begin, std::int64_t n, std::uint64_t key,
                                     std::uint32_t threshold, double scale) {
  fill_mask_body(mask, begin, n, key, threshold, scale);
}

}  // namespace

namespace {
// The global minibatch row of this thread's first row (DropoutRows); 0 in one process.
thread_local std::int64_t first_row = 0;
}  // namespace

DropoutRows::DropoutRows(std::int64_t row) : previous_(first_row) { first_row = row; }
DropoutRows::~DropoutRows() { first_row = previous_; }

torch::Tensor dropout(const torch::Tensor& x, double p, bool train) {
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("dropout probability must be in [0, 1], got " + std::to_string(p));
  if (!train || p == 0) return x;
  if (p == 1) return x * 0;
  if (!x.device().is_cpu() || (x.scalar_type() != torch::kFloat && x.scalar_type() != torch::kDouble))
    return torch::dropout(x, p, train);
  // One draw from the default generator per call: torch::manual_seed(s) fixes every mask.
  const auto key = static_cast<std::uint64_t>(
      torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::kInt64).item<std::int64_t>());
  const auto threshold = static_cast<std::uint32_t>(std::lround(p * double(1u << 24)));
  auto mask = torch::empty(x.sizes(), x.options().requires_grad(false));
  const std::int64_t numel = mask.numel();
  // A data-parallel shard's elements take the indices they have in the global minibatch.
  const std::int64_t offset = x.dim() > 0 && x.size(0) > 0 ? first_row * (numel / x.size(0)) : 0;
  AT_DISPATCH_FLOATING_TYPES(mask.scalar_type(), "hebbkit_dropout", [&] {
    auto* m = mask.data_ptr<scalar_t>();
    const auto scale = static_cast<scalar_t>(1.0 / (1.0 - p));
    at::parallel_for(0, numel, 1 << 14, [&](std::int64_t begin, std::int64_t end) {
      fill_mask(m + begin, offset + begin, end - begin, key, threshold, scale);
    });
  });
  // Without a graph to record, the mask's buffer becomes the result.
  if (!(x.requires_grad() && torch::GradMode::is_enabled())) return mask.mul_(x);
  return x * mask;
}

}  // namespace hebbkit
