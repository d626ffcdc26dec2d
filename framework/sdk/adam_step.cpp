#include "adam_step.hpp"

#include <cmath>
#include <cstdint>
#include <memory>

#include <ATen/Parallel.h>
#include "hebbkit/vector_clones.hpp"

namespace hebbkit {
namespace {

struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bias2, eps, minus_step_size, weight_decay;
};

// The same element-wise operations, in the same order, as torch's Adam::step (1.13):
// g += wd p; m = m b1 + (1 - b1) g; v = v b2 + (1 - b2) g g; p += -step (m / (sqrt(v) / sqrt(bc2) + eps)).
HEBBKIT_VECTOR_CLONES void adam_range(float* __restrict p, const float* __restrict grad, float* __restrict m,
                                      float* __restrict v, std::int64_t n, AdamScalars s) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + s.weight_decay * p[i];
    m[i] = m[i] * s.beta1 + s.one_minus_beta1 * g;
    v[i] = v[i] * s.beta2 + s.one_minus_beta2 * g * g;
    const float denom = std::sqrt(v[i]) / s.sqrt_bias2 + s.eps;
    p[i] = p[i] + s.minus_step_size * (m[i] / denom);
  }
}

bool fusable(const torch::Tensor& p) {
  const auto& g = p.grad();
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && p.is_contiguous() && g.defined() &&
         !g.is_sparse() && g.scalar_type() == torch::kFloat32 && g.is_contiguous() && g.sizes() == p.sizes();
}

}  // namespace

void adam_step(torch::optim::Adam& adam) {
  for (const auto& group : adam.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (const auto& p : group.params()) {
      if (options.amsgrad() || (p.grad().defined() && !fusable(p))) return static_cast<void>(adam.step());
    }
  }
  torch::NoGradGuard no_grad;
  auto& states = adam.state();
  for (auto& group : adam.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto found = states.find(key);
      if (found == states.end()) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*found->second);
      state.step(state.step() + 1);
      const auto [beta1, beta2] = options.betas();
      const double bias1 = 1 - std::pow(beta1, state.step()), bias2 = 1 - std::pow(beta2, state.step());
      const AdamScalars s{static_cast<float>(beta1),          static_cast<float>(1 - beta1),
                          static_cast<float>(beta2),          static_cast<float>(1 - beta2),
                          static_cast<float>(std::sqrt(bias2)), static_cast<float>(options.eps()),
                          static_cast<float>(-options.lr() / bias1), static_cast<float>(options.weight_decay())};
      float* pd = p.data_ptr<float>();
      const float* gd = p.grad().data_ptr<float>();
      float* md = state.exp_avg().data_ptr<float>();
      float* vd = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
        adam_range(pd + begin, gd + begin, md + begin, vd + begin, end - begin, s);
      });
    }
  }
}

}  // namespace hebbkit
