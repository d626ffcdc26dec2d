#include <atomic>

#include <ATen/Parallel.h>
#include "support/catch.hpp"
#include <torch/types.h>

#include "hebbkit/denormals.hpp"

namespace {
// A product whose exact value (1e-40) is a float denormal; volatile so it is computed here.
float denormal_product() {
  volatile float a = 1e-20f, b = 1e-20f;
  return a * b;
}
}  // namespace

TEST_CASE("flush_denormals makes denormal results zero on every pool thread", "[system]") {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  REQUIRE(hebbkit::flush_denormals());
  CHECK(denormal_product() == 0.0f);
  std::atomic<int> nonzero{0}, chunks{0};
  at::parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) {
    ++chunks;
    if (denormal_product() != 0.0f) ++nonzero;
  });
  CHECK(chunks == 2);
  CHECK(nonzero == 0);
  // Tensors too: a GEMM reading denormal inputs treats them as 0.
  const auto tiny = torch::full({4, 4}, 1e-40f);
  CHECK(tiny.mm(torch::ones({4, 4})).abs().max().item<float>() == 0.0f);
  at::set_num_threads(before);
}
