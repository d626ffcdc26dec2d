#include "support/catch.hpp"
#include <torch/types.h>

#include "softhebb_update.hpp"

using namespace hebbkit;
using namespace hebbkit::softhebb;

namespace {
ConvGeometry geometry(std::int64_t kernel, std::int64_t stride, std::int64_t dilation, std::int64_t pad, bool reflect) {
  ConvGeometry g;
  g.kernel_h = g.kernel_w = kernel;
  g.stride_h = g.stride_w = stride;
  g.dilation_h = g.dilation_w = dilation;
  g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = pad;
  g.reflect = reflect;
  return g;
}
}  // namespace

TEST_CASE("soft winner-take-all: softmax of t u, negated except at the winner", "[softhebb]") {
  const auto u = torch::tensor({1.0, 3.0, 2.0, 0.0, -1.0, 0.5}, torch::kFloat64).view({2, 3});
  const auto y = soft_wta(u, 2.0);
  const auto s0 = torch::softmax(u[0] * 2.0, 0), s1 = torch::softmax(u[1] * 2.0, 0);
  CHECK(torch::allclose(y[0], torch::stack({-s0[0], s0[1], -s0[2]})));
  CHECK(torch::allclose(y[1], torch::stack({-s1[0], -s1[1], s1[2]})));
}

TEST_CASE("the chunked SoftHebb step equals the paper's convolution formulation", "[softhebb]") {
  const auto [kernel, stride, dilation, pad, reflect] = GENERATE(table<int, int, int, int, bool>(
      {{5, 1, 1, 2, true}, {3, 1, 1, 1, false}, {3, 2, 1, 1, true}, {3, 1, 2, 0, false}, {1, 1, 1, 0, false}}));
  const bool tensor_path = GENERATE(false, true);
  const std::int64_t chunk = GENERATE(13, 100000);
  CAPTURE(kernel, stride, dilation, pad, reflect, tensor_path, chunk);
  const auto g = geometry(kernel, stride, dilation, pad, reflect);
  torch::manual_seed(5);
  const Hyper hyper{0.7, 0.05, 0.5};
  const auto w0 = torch::randn({7, 3, kernel, kernel}, torch::kFloat64) * 0.6;
  auto reference = w0.clone();
  Kernels fast(w0.clone(), hyper, g, chunk);
  fast.force_tensor_path(tensor_path);
  for (int step = 0; step < 5; ++step) {
    const auto x = torch::randn({2, 3, 9, 8}, torch::kFloat64);
    fast.step(x);
    reference_step(reference, x, hyper, g);
    CAPTURE(step);
    REQUIRE((fast.weights() - reference).abs().max().item<double>() < 1e-10);
  }
  CHECK((reference - w0).abs().max().item<double>() > 1e-3);
}

TEST_CASE("the update is the formulas on one hand-made patch", "[softhebb]") {
  // One 1x1 input of 2 channels, two 1x1 kernels: one patch x = (1, 2).
  auto w = torch::tensor({1.0, 0.0, 0.0, 2.0}, torch::kFloat64).view({2, 2, 1, 1});
  const auto x = torch::tensor({1.0, 2.0}, torch::kFloat64).view({1, 2, 1, 1});
  const Hyper hyper{1.0, 0.1, 0.5};
  Kernels k(w.clone(), hyper, ConvGeometry{});
  k.step(x);
  // u = (1, 4); y = (-e/(e+e^4), e^4/(e+e^4)); dw_k = y_k (x - u_k w_k).
  const double s0 = std::exp(1.0) / (std::exp(1.0) + std::exp(4.0)), s1 = 1 - s0;
  auto dw = torch::tensor({-s0 * (1 - 1), -s0 * (2 - 0), s1 * (1 - 0), s1 * (2 - 8)}, torch::kFloat64).view({2, 2});
  dw /= dw.abs().max();
  // Rates: 0.1 |‖w_k‖ - 1|^0.5 = 0.1 * (1e-10)^0.5 for the unit-norm kernel, 0.1 for ‖w‖ = 2.
  const auto rates = torch::tensor({0.1 * std::sqrt(1e-10), 0.1}, torch::kFloat64).view({2, 1});
  CHECK(torch::allclose(k.weights().view({2, 2}), w.view({2, 2}) + rates * dw));
}

TEST_CASE("the adaptive rate drives kernel norms towards 1", "[softhebb]") {
  torch::manual_seed(2);
  Kernels k(torch::randn({12, 3, 3, 3}) * 2.0, {1.0, 0.05, 0.5}, geometry(3, 1, 1, 1, true));
  const double before = k.norm_error().mean().item<double>();
  for (int step = 0; step < 200; ++step) k.step(torch::randn({4, 3, 8, 8}));
  CHECK(k.norm_error().mean().item<double>() < 0.5 * before);
}
