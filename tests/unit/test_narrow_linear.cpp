#include "support/catch.hpp"
#include <ATen/Parallel.h>
#include <torch/types.h>

#include "hebbkit/narrow_linear.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;

namespace {
bool close(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, 1e-5, 1e-5 * (1 + b.abs().max().item<double>()));
}
}  // namespace

TEST_CASE("narrow_linear and its weight gradient equal torch's GEMMs at every shape", "[narrow_linear]") {
  torch::manual_seed(0);
  // Widths around one vector register and class counts around a group of four, with 1 and 2 threads.
  for (const int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (const std::int64_t rows : {1, 7, 100})
      for (const std::int64_t width : {1, 15, 16, 17, 200, 2000})
        for (const std::int64_t classes : {1, 3, 4, 5, 10, 64}) {
          INFO("rows " << rows << ", width " << width << ", classes " << classes << ", threads " << threads);
          const auto x = torch::randn({rows, width}), w = torch::randn({classes, width}), b = torch::randn({classes});
          CHECK(close(narrow_linear(x, w, b), torch::addmm(b, x, w.t())));
          CHECK(close(narrow_linear(x, w), torch::mm(x, w.t())));
          const auto g = torch::randn({rows, classes});
          CHECK(close(narrow_linear_weight_gradient(g, x), torch::mm(g.t(), x)));
          // Rows read in place: a shuffled selection with a repeat, as index_select first.
          const auto pick = torch::randint(rows, {rows + 3}, torch::kInt64);
          const auto picked = x.index_select(0, pick);
          const auto gp = torch::randn({rows + 3, classes});
          CHECK(close(narrow_linear(x, w, b, pick), torch::addmm(b, picked, w.t())));
          CHECK(close(narrow_linear_weight_gradient(gp, RowSelection{x, pick}), torch::mm(gp.t(), picked)));
        }
  }
  at::set_num_threads(1);
}

TEST_CASE("narrow_linear hands other cases to torch and refuses mismatched shapes", "[narrow_linear][errors]") {
  torch::manual_seed(1);
  const auto x = torch::randn({6, 20}), w = torch::randn({3, 20}), g = torch::randn({6, 3});
  // double, non-contiguous inputs and many outputs take torch's GEMM, with the same results.
  CHECK(close(narrow_linear(x.to(torch::kFloat64), w.to(torch::kFloat64)), torch::mm(x, w.t()).to(torch::kFloat64)));
  const auto wide = torch::randn({20, 6}).t();
  CHECK(close(narrow_linear(wide, w), torch::mm(wide, w.t())));
  const auto many = torch::randn({100, 20});
  CHECK(close(narrow_linear(x, many), torch::mm(x, many.t())));
  CHECK(close(narrow_linear_weight_gradient(g.t().contiguous().t(), x), torch::mm(g.t(), x)));
  CHECK(narrow_linear(x.slice(0, 0, 0), w).sizes() == torch::IntArrayRef{0, 3});
  CHECK(torch::equal(narrow_linear_weight_gradient(g.slice(0, 0, 0), x.slice(0, 0, 0)), torch::zeros({3, 20})));
  CHECK_THROWS_WITH(narrow_linear(x, torch::randn({3, 21})), Contains("inputs 6x20 do not match weights 3x21"));
  CHECK_THROWS_WITH(narrow_linear(x, w, torch::randn({4})), Contains("bias 4"));
  CHECK_THROWS_WITH(narrow_linear_weight_gradient(torch::randn({5, 3}), x),
                    Contains("gradient 5x3 and 6 selected input rows differ"));
  CHECK_THROWS_WITH(narrow_linear(x, w, {}, torch::tensor({0, 6}, torch::kInt64)),
                    Contains("narrow_linear: row index 0..6 outside the 6 rows"));
  CHECK_THROWS_WITH(narrow_linear_weight_gradient(g.slice(0, 0, 2), x, torch::tensor({-1, 2}, torch::kInt64)),
                    Contains("row index -1..2 outside the 6 rows"));
  // The fallback selects rows too.
  const auto pick = torch::tensor({5, 0, 5}, torch::kInt64);
  CHECK(close(narrow_linear(x.to(torch::kFloat64), w.to(torch::kFloat64), {}, pick),
              torch::mm(x.index_select(0, pick), w.t()).to(torch::kFloat64)));
}
