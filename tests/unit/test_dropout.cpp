#include "support/catch.hpp"
#include <ATen/Parallel.h>
#include <utility>
#include <vector>
#include <torch/types.h>

#include "hebbkit/dropout.hpp"

namespace {
torch::Tensor mask_of(double p, std::uint64_t seed, std::int64_t n = 1 << 20) {
  torch::manual_seed(seed);
  return hebbkit::dropout(torch::ones({n}), p, /*train=*/true);
}
}  // namespace

TEST_CASE("dropout zeroes a fraction p and scales the rest by 1 / (1 - p)", "[training][dropout]") {
  const double p = GENERATE(0.1, 0.5, 0.8);
  CAPTURE(p);
  const auto x = torch::rand({512, 2048}) + 0.5;  // no zeros of its own
  torch::manual_seed(1);
  const auto y = hebbkit::dropout(x, p, true);
  const auto kept = y.ne(0);
  const double n = x.numel(), dropped = n - kept.sum().item<double>();
  // 1M coins: the dropped fraction's standard deviation is sqrt(p (1 - p) / n) < 5e-4.
  CHECK(dropped / n == Approx(p).margin(0.003));
  CHECK(torch::allclose(y.masked_select(kept), x.masked_select(kept) / (1 - p)));
  // Coins of neighbouring elements are independent: both dropped with probability p^2.
  const auto d = kept.logical_not().flatten();
  const double both = d.slice(0, 1).logical_and(d.slice(0, 0, -1)).sum().item<double>() / (n - 1);
  CHECK(both == Approx(p * p).margin(0.003));
}

TEST_CASE("dropout masks follow torch's seed, not the thread count", "[training][dropout]") {
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = mask_of(0.5, 7);
  at::set_num_threads(2);
  const auto two = mask_of(0.5, 7);
  at::set_num_threads(before);
  CHECK(torch::equal(one, two));
  CHECK_FALSE(torch::equal(one, mask_of(0.5, 8)));
  // Consecutive calls under one seed draw fresh masks, agreeing on about half the coins.
  torch::manual_seed(7);
  const auto first = hebbkit::dropout(torch::ones({1 << 16}), 0.5, true);
  const auto second = hebbkit::dropout(torch::ones({1 << 16}), 0.5, true);
  CHECK(first.eq(second).to(torch::kDouble).mean().item<double>() == Approx(0.5).margin(0.02));
}

TEST_CASE("dropout passes gradients through the kept elements only", "[training][dropout]") {
  const auto type = GENERATE(torch::kFloat32, torch::kFloat64);
  auto x = torch::rand({64, 300}, type).add_(0.1).requires_grad_();
  torch::manual_seed(3);
  const auto y = hebbkit::dropout(x, 0.25, true);
  REQUIRE(y.requires_grad());
  y.sum().backward();
  const auto expected = y.detach().ne(0).to(type) / 0.75;
  CHECK(torch::allclose(x.grad(), expected));
}

TEST_CASE("dropout off, p = 0 and p = 1; a p outside [0, 1] is refused", "[training][dropout]") {
  const auto x = torch::rand({8, 9}) + 1;
  CHECK(hebbkit::dropout(x, 0.5, /*train=*/false).is_same(x));
  CHECK(hebbkit::dropout(x, 0.0, true).is_same(x));
  CHECK(hebbkit::dropout(x, 1.0, true).eq(0).all().item<bool>());
  CHECK_THROWS_WITH(hebbkit::dropout(x, 1.5, true), Catch::Contains("[0, 1], got 1.5"));
  CHECK_THROWS_AS(hebbkit::dropout(x, -0.1, true), std::invalid_argument);
  // Non-contiguous inputs keep their layout's meaning.
  torch::manual_seed(5);
  const auto t = x.t();
  const auto y = hebbkit::dropout(t, 0.5, true);
  CHECK(torch::allclose(y.masked_select(y.ne(0)), t.masked_select(y.ne(0)) * 2));
}

TEST_CASE("dropout on a data-parallel shard gives the global minibatch's masks", "[training][dropout]") {
  const auto x = torch::rand({7, 5, 3}) + 1;
  torch::manual_seed(11);
  const auto whole = hebbkit::dropout(x, 0.4, true);
  // Two processes, rows 0-3 and 4-6, each drawing its key from the same generator state.
  std::vector<torch::Tensor> parts;
  for (const auto& [begin, end] : {std::pair<std::int64_t, std::int64_t>{0, 4}, {4, 7}}) {
    torch::manual_seed(11);
    const hebbkit::DropoutRows rows(begin);
    parts.push_back(hebbkit::dropout(x.slice(0, begin, end), 0.4, true));
  }
  CHECK(torch::equal(torch::cat(parts), whole));
  // The offset ends with its scope.
  torch::manual_seed(11);
  CHECK(torch::equal(hebbkit::dropout(x.slice(0, 0, 4), 0.4, true), whole.slice(0, 0, 4)));
}
