#include "support/catch.hpp"
#include <torch/types.h>

#include "conv_update.hpp"

using namespace hebbkit;
using namespace hebbkit::krotov;

namespace {

ConvGeometry geometry(std::int64_t kernel, std::int64_t stride, std::int64_t dilation, std::array<std::int64_t, 4> pad) {
  ConvGeometry g;
  g.kernel_h = g.kernel_w = kernel;
  g.stride_h = g.stride_w = stride;
  g.dilation_h = g.dilation_w = dilation;
  g.pad_top = pad[0], g.pad_bottom = pad[1], g.pad_left = pad[2], g.pad_right = pad[3];
  return g;
}

struct Case {
  const char* name;
  ConvGeometry g;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"3x3 valid", geometry(3, 1, 1, {0, 0, 0, 0})},
      {"5x5 same", geometry(5, 1, 1, {2, 2, 2, 2})},
      {"4x4 same (asymmetric)", geometry(4, 1, 1, {1, 2, 1, 2})},
      {"3x3 stride 2 padding 1", geometry(3, 2, 1, {1, 1, 1, 1})},
      {"3x3 dilation 2", geometry(3, 1, 2, {0, 0, 0, 0})},
      {"2x2 stride 3 dilation 2 padding 1", geometry(2, 3, 2, {1, 1, 1, 1})},
      {"3x3 reflect padding 1", [] { auto g = geometry(3, 1, 1, {1, 1, 1, 1}); g.reflect = true; return g; }()},
  };
  return all;
}

}  // namespace

TEST_CASE("the fast conv step equals the unfold-based formulas over several steps", "[krotov_conv]") {
  const auto& c = GENERATE(from_range(cases()));
  const auto normalise = GENERATE(Normalise::PerKernel, Normalise::Global);
  const auto [p, k, delta] = GENERATE(table<double, std::int64_t, double>({{2.0, 2, 0.1}, {3.0, 4, 0.4}}));
  // Tensor path: what non-CPU devices run. A chunk of 7 patches splits images across chunks.
  const bool tensor_path = GENERATE(false, true);
  const std::int64_t chunk = GENERATE(7, 100000);
  CAPTURE(c.name, normalise == Normalise::Global, p, k, delta, tensor_path, chunk);
  torch::manual_seed(3);
  const Hyper hyper{p, k, delta, 1e-30};
  auto w0 = torch::randn({9, 2, c.g.kernel_h, c.g.kernel_w}, torch::kFloat64);
  auto reference = w0.clone();
  ConvSynapses fast(w0.clone(), hyper, normalise, c.g, chunk);
  fast.force_tensor_path(tensor_path);
  for (int step = 0; step < 6; ++step) {
    const auto x = torch::randn({3, 2, 11, 10}, torch::kFloat64);
    const double eps = 0.05 * (1 - step / 6.0);
    const auto touched = fast.step(x, eps);
    conv_reference_step(reference, x, hyper, normalise, c.g, eps);
    CAPTURE(step);
    REQUIRE(touched >= 2);
    REQUIRE(touched <= 9);
    REQUIRE((fast.kernels() - reference).abs().max().item<double>() < 1e-9);
  }
  // The kernels really moved: the comparison is not between two copies of w0.
  CHECK((reference - w0).abs().max().item<double>() > 1e-2);
}

TEST_CASE("the reference's update is the formulas on hand-made patches", "[krotov_conv]") {
  // One 1-channel 2x3 image, 1x2 kernels, 2 patches per row: 4 patches, 3 kernels, k = 2.
  const auto x = torch::tensor({1.0, 2.0, 0.0, 0.0, 1.0, 3.0}, torch::kFloat64).view({1, 1, 2, 3});
  auto w = torch::tensor({1.0, 0.0, 0.0, 1.0, 0.5, 0.5}, torch::kFloat64).view({3, 1, 1, 2});
  const auto w_before = w.clone();
  ConvGeometry g;
  g.kernel_w = 2;
  const double delta = 0.5;
  conv_reference_step(w, x, {2.0, 2, delta, 1e-30}, Normalise::Global, g, 1.0);
  // Patches (1,2) (2,0) (0,1) (1,3); currents of kernels (1,0), (0,1), (.5,.5):
  //   (1,2): 1 2 1.5 -> winner 1, second 2    (2,0): 2 0 1 -> winner 0, second 2
  //   (0,1): 0 1 .5  -> winner 1, second 2    (1,3): 1 3 2 -> winner 1, second 2
  // ds0 = (2,0) - 2 (1,0) = (0,0); ds1 = (1,2)+(0,1)+(1,3) - (2+1+3)(0,1) = (2,0);
  // ds2 = -.5 ((1,2)+(2,0)+(0,1)+(1,3)) + .5 (1.5+1+.5+2)(.5,.5) = (-2,-3) + (1.25,1.25) = (-.75,-1.75)
  const auto ds = torch::tensor({0.0, 0.0, 2.0, 0.0, -0.75, -1.75}, torch::kFloat64).view({3, 1, 1, 2});
  CHECK(torch::allclose(w, w_before + ds / 2.0));
}

TEST_CASE("per-kernel normalisation gives every touched kernel a full step", "[krotov_conv]") {
  torch::manual_seed(8);
  auto w = torch::randn({6, 1, 3, 3}, torch::kFloat64);
  const auto before = w.clone();
  ConvGeometry g;
  g.kernel_h = g.kernel_w = 3;
  ConvSynapses s(w.clone(), {2.0, 2, 0.2, 1e-30}, Normalise::PerKernel, g);
  s.step(torch::randn({2, 1, 8, 8}, torch::kFloat64), 0.1);
  const auto moved = (s.kernels() - before).abs().flatten(1).amax(1);
  // A kernel that won or came second somewhere moved by exactly eps at its largest entry.
  for (std::int64_t u = 0; u < 6; ++u)
    if (moved[u].item<double>() > 0) CHECK(moved[u].item<double>() == Approx(0.1).epsilon(1e-9));
}

TEST_CASE("the conv step in float matches the reference in double", "[krotov_conv]") {
  torch::manual_seed(11);
  ConvGeometry g;
  g.kernel_h = g.kernel_w = 5;
  g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = 2;
  auto w = torch::randn({16, 3, 5, 5});
  auto reference = w.to(torch::kFloat64);
  ConvSynapses fast(w, {2.0, 2, 0.1, 1e-5}, Normalise::PerKernel, g, 300);
  const auto x = torch::randn({4, 3, 12, 12});
  fast.step(x, 0.01);
  conv_reference_step(reference, x.to(torch::kFloat64), {2.0, 2, 0.1, 1e-5}, Normalise::PerKernel, g, 0.01);
  CHECK((fast.kernels().to(torch::kFloat64) - reference).abs().max().item<double>() < 1e-5);
}

TEST_CASE("Dale's law: weights on inhibitory channels stay <= 0, on the others >= 0, and still learn", "[krotov_conv]") {
  torch::manual_seed(12);
  ConvGeometry g;
  g.kernel_h = g.kernel_w = 3;
  const auto signs = dale_signs(6, 0.5, torch::TensorOptions().dtype(torch::kFloat64));
  REQUIRE(signs.lt(0).sum().item<int>() == 3);
  REQUIRE(signs.gt(0).sum().item<int>() == 3);
  const auto w0 = torch::randn({10, 6, 3, 3}, torch::kFloat64);
  ConvSynapses s(w0.clone(), {2.0, 2, 0.3, 1e-30}, Normalise::PerKernel, g);
  s.constrain_signs(signs);
  const auto per_channel = [&] { return (s.kernels() * signs.view({1, 6, 1, 1})).min().item<double>(); };
  CHECK(per_channel() >= 0);
  const auto start = s.kernels().clone();
  for (int step = 0; step < 5; ++step) {
    // Inputs of a layer below a ReLU: non-negative.
    s.step(torch::rand({2, 6, 7, 7}, torch::kFloat64), 0.05);
    s.constrain_signs(signs);
    REQUIRE(per_channel() >= 0);
  }
  CHECK((s.kernels() - start).abs().max().item<double>() > 1e-3);
  // Without the constraint some entry would have the wrong sign: the test constrains something.
  ConvSynapses free(w0.clone(), {2.0, 2, 0.3, 1e-30}, Normalise::PerKernel, g);
  CHECK((free.kernels() * signs.view({1, 6, 1, 1})).min().item<double>() < 0);
}
