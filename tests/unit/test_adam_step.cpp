#include "support/catch.hpp"
#include <ATen/Parallel.h>
#include <torch/optim/adam.h>
#include <torch/types.h>

#include "adam_step.hpp"

using hebbkit::adam_step;

namespace {
// Two parameters, a gradient that changes each step; one optimizer stepped by torch, one fused.
struct Pair {
  torch::Tensor a, b;
};
Pair same_parameters(torch::ScalarType type) {
  torch::manual_seed(3);
  const auto a = torch::randn({37, 129}, type), b = torch::randn({129}, type);
  return {a, b};
}
}  // namespace

TEST_CASE("the fused Adam step equals torch's Adam, weight decay and all", "[training][adam]") {
  const double weight_decay = GENERATE(0.0, 0.01);
  const int threads = GENERATE(1, 2);
  CAPTURE(weight_decay, threads);
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  const auto init = same_parameters(torch::kFloat32);
  std::vector<torch::Tensor> torch_params = {init.a.clone(), init.b.clone()};
  std::vector<torch::Tensor> fused_params = {init.a.clone(), init.b.clone()};
  const auto options = torch::optim::AdamOptions(0.01).weight_decay(weight_decay);
  torch::optim::Adam reference(torch_params, options), fused(fused_params, options);
  for (int step = 0; step < 20; ++step) {
    for (std::size_t i = 0; i < 2; ++i) {
      const auto grad = torch::randn_like(torch_params[i]) * (1 + step);
      torch_params[i].mutable_grad() = grad.clone();
      fused_params[i].mutable_grad() = grad.clone();
    }
    reference.step();
    adam_step(fused);
    CAPTURE(step);
    for (std::size_t i = 0; i < 2; ++i)
      REQUIRE((torch_params[i] - fused_params[i]).abs().max().item<double>() < 1e-6);
  }
  at::set_num_threads(before);
  // Its state is torch's: the same step count and moments, so checkpoints read back alike.
  auto& state = static_cast<torch::optim::AdamParamState&>(
      *fused.state().at(c10::guts::to_string(fused_params[0].unsafeGetTensorImpl())));
  auto& expected = static_cast<torch::optim::AdamParamState&>(
      *reference.state().at(c10::guts::to_string(torch_params[0].unsafeGetTensorImpl())));
  CHECK(state.step() == 20);
  CHECK((state.exp_avg_sq() - expected.exp_avg_sq()).abs().max().item<double>() < 1e-5);
  CHECK((init.a - fused_params[0]).abs().max().item<double>() > 0.1);
}

TEST_CASE("the fused Adam step falls back to torch's for what it does not fuse", "[training][adam]") {
  // Double parameters and amsgrad: torch's own step, so the results are identical.
  const bool amsgrad = GENERATE(false, true);
  const auto type = amsgrad ? torch::kFloat32 : torch::kFloat64;
  const auto init = same_parameters(type);
  std::vector<torch::Tensor> p1 = {init.a.clone()}, p2 = {init.a.clone()};
  const auto options = torch::optim::AdamOptions(0.01).amsgrad(amsgrad);
  torch::optim::Adam reference(p1, options), fused(p2, options);
  for (int step = 0; step < 5; ++step) {
    const auto grad = torch::randn_like(p1[0]);
    p1[0].mutable_grad() = grad.clone();
    p2[0].mutable_grad() = grad.clone();
    reference.step();
    adam_step(fused);
  }
  CHECK(torch::equal(p1[0], p2[0]));
}
