#include "support/catch.hpp"
#include <ATen/Parallel.h>
#include <torch/types.h>

#include "krotov_update.hpp"

using namespace hebbkit::krotov;

namespace {
torch::Tensor unit_rows(torch::Tensor x) { return x / x.norm(2, {1}, true); }
}  // namespace

TEST_CASE("the fast step equals the dense formulas over several steps", "[krotov]") {
  const auto [p, k, delta] = GENERATE(table<double, std::int64_t, double>({{2.0, 2, 0.1}, {3.0, 7, 0.4}, {3.0, 2, 0.4}, {4.5, 3, 0.3}}));
  // Contiguous inputs take the fused CPU path; strided ones the generic tensor path (GPU's).
  const bool strided = GENERATE(false, true);
  CAPTURE(p, k, delta, strided);
  torch::manual_seed(1);
  const Hyper hyper{p, k, delta, 1e-30};
  auto w0 = torch::randn({60, 30}, torch::kFloat64);
  auto dense = w0.clone();
  Synapses fast(w0.clone(), hyper);
  for (int step = 0; step < 12; ++step) {
    auto x = unit_rows(torch::randn({16, 30}, torch::kFloat64));
    if (strided) x = x.t().contiguous().t();
    const double eps = 0.05 * (1 - step / 12.0);
    fast.step(x, eps);
    dense_reference_step(dense, x, hyper, eps);
    CAPTURE(step);
    REQUIRE((fast.weights() - dense).abs().max().item<double>() < 1e-5);
    REQUIRE((fast.powered_weights() - powered(dense, p)).abs().max().item<double>() < 1e-5);
  }
  // The weights really moved: the comparison is not between two copies of w0.
  CHECK((dense - w0).abs().max().item<double>() > 1e-2);
}

TEST_CASE("ranking picks the strongest and k-th unit of each row, ties to the lower index", "[krotov]") {
  // 300 units: the striped fast scan (64 stripes, 4 whole stripe rows and a tail of 44);
  // 40 units and k = 20: the plain scan.
  const auto [units, k] = GENERATE(table<std::int64_t, std::int64_t>({{300, 2}, {300, 7}, {300, 16}, {40, 20}, {300, 17}}));
  CAPTURE(units, k);
  torch::manual_seed(4);
  // Rounded values make ties common, including ties between stripes and inside the tail.
  auto currents = (torch::randn({50, units}) * 3).round();
  currents[0].fill_(1.0);                 // every unit tied
  currents[1].slice(0, 250).fill_(9.0);   // the maximum only in the tail
  const auto ranked = rank_units(currents, k);
  const auto [values, order] = currents.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true);
  CHECK(torch::equal(ranked.winner, order.select(1, 0)));
  CHECK(torch::equal(ranked.kth, order.select(1, k - 1)));
  CHECK(torch::equal(ranked.winner_current, values.select(1, 0)));
  CHECK(torch::equal(ranked.kth_current, values.select(1, k - 1)));
}

TEST_CASE("ranking each thread's block of units as it is multiplied equals ranking the whole product", "[krotov]") {
  // Small integers make every product exact, so the blocks' GEMMs and the whole one agree
  // bit for bit and ties are real: units 10 and 290 (in different blocks) have the same
  // weights, as do units 0..3 of the first block.
  const int threads = GENERATE(1, 2, 3);
  const auto dtype = GENERATE(torch::kFloat32, torch::kFloat64);
  const auto [units, k] = GENERATE(table<std::int64_t, std::int64_t>({{300, 2}, {300, 7}, {129, 3}, {40, 20}}));
  CAPTURE(threads, units, k);
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  torch::manual_seed(6);
  auto wp = torch::randint(-3, 4, {units, 24}).to(dtype);
  const auto x = torch::randint(0, 3, {37, 24}).to(dtype);
  wp.slice(0, 0, 4).copy_(wp[4].expand({4, 24}));
  if (units > 290) wp[290].copy_(wp[10]);
  const auto ranked = currents_ranked(x, wp, k);
  const auto [values, order] = torch::mm(x, wp.t()).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true);
  at::set_num_threads(before);
  CHECK(torch::equal(ranked.winner, order.select(1, 0)));
  CHECK(torch::equal(ranked.kth, order.select(1, k - 1)));
  CHECK(torch::equal(ranked.winner_current, values.select(1, 0)));
  CHECK(torch::equal(ranked.kth_current, values.select(1, k - 1)));
}

TEST_CASE("the fast step equals the dense formulas with many units and many touched rows", "[krotov]") {
  const auto [p, k] = GENERATE(table<double, std::int64_t>({{3.0, 7}, {2.0, 2}}));
  CAPTURE(p, k);
  torch::manual_seed(5);
  const Hyper hyper{p, k, 0.3, 1e-30};
  auto dense = torch::randn({700, 90}, torch::kFloat64);
  Synapses fast(dense.clone(), hyper);
  for (int step = 0; step < 5; ++step) {
    const auto x = unit_rows(torch::randn({200, 90}, torch::kFloat64));
    fast.step(x, 0.02);
    dense_reference_step(dense, x, hyper, 0.02);
    REQUIRE((fast.weights() - dense).abs().max().item<double>() < 1e-9);
  }
}

TEST_CASE("the update's split across threads matches the dense formulas at one thread and at two", "[krotov]") {
  // The CPU update splits columns between threads; a wrong split shows as a mismatch here.
  const int threads = GENERATE(1, 2);
  CAPTURE(threads);
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  torch::manual_seed(6);
  const Hyper hyper{3.0, 4, 0.4, 1e-30};
  auto dense = torch::randn({500, 200}, torch::kFloat64);
  Synapses fast(dense.clone(), hyper);
  for (int step = 0; step < 4; ++step) {
    const auto x = unit_rows(torch::randn({100, 200}, torch::kFloat64));
    fast.step(x, 0.05);
    dense_reference_step(dense, x, hyper, 0.05);
  }
  at::set_num_threads(before);
  CHECK((fast.weights() - dense).abs().max().item<double>() < 1e-9);
}

TEST_CASE("a step touches at most 2 x batch rows and leaves the others alone", "[krotov]") {
  torch::manual_seed(2);
  const auto w0 = torch::randn({500, 20});
  Synapses s(w0.clone(), Hyper{3.0, 5, 0.4, 1e-30});
  const auto touched = s.step(unit_rows(torch::randn({8, 20})), 0.1);
  CHECK(touched <= 16);
  CHECK(touched >= 1);
  const auto changed = (s.weights() - w0).abs().sum(1).gt(0).sum().item<std::int64_t>();
  CHECK(changed == touched);
}

TEST_CASE("the synapses settle towards unit p-norm", "[krotov]") {
  torch::manual_seed(3);
  Synapses s(torch::rand({20, 10}), Hyper{3.0, 2, 0.4, 1e-30});
  const double before = s.norm_error().max().item<double>();
  for (int i = 0; i < 4000; ++i) s.step(unit_rows(torch::rand({10, 10})), 0.05 * (1 - i / 4000.0));
  CAPTURE(before, s.norm_error().max().item<double>());
  CHECK(s.norm_error().max().item<double>() < before / 4);
}

TEST_CASE("powered() is sign(W)|W|^(p-1)", "[krotov]") {
  const auto w = torch::tensor({-2.0, 0.5, 3.0});
  CHECK(torch::allclose(powered(w, 3.0), torch::tensor({-4.0, 0.25, 9.0})));
  CHECK(torch::allclose(powered(w, 2.0), w));
}

TEST_CASE("Dale's law on a dense layer: each input's weights keep its sign through training", "[krotov]") {
  torch::manual_seed(9);
  const auto signs = dale_signs(40, 0.2, torch::TensorOptions().dtype(torch::kFloat64));
  REQUIRE(signs.lt(0).sum().item<int>() == 8);
  auto w = torch::randn({30, 40}, torch::kFloat64);
  constrain_to_signs(w, signs);
  Synapses s(w, {3.0, 3, 0.4, 1e-30});
  for (int step = 0; step < 10; ++step) {
    s.step(torch::rand({16, 40}, torch::kFloat64), 0.05);
    s.constrain_signs(signs);
    REQUIRE((s.weights() * signs.view({1, -1})).min().item<double>() >= 0);
    // The cached powers follow the constrained weights.
    REQUIRE((s.powered_weights() - powered(s.weights(), 3.0)).abs().max().item<double>() < 1e-12);
  }
  CHECK(s.weights().lt(0).any().item<bool>());
}

TEST_CASE("with homeostasis the fast step and its thresholds equal the dense formulas", "[krotov]") {
  const bool strided = GENERATE(false, true);
  CAPTURE(strided);
  torch::manual_seed(11);
  Hyper hyper{3.0, 4, 0.4, 1e-30};
  hyper.homeostasis = 0.05;
  auto dense = torch::randn({80, 30}, torch::kFloat64);
  auto theta = torch::zeros({80}, torch::kFloat64);
  Synapses fast(dense.clone(), hyper);
  for (int step = 0; step < 10; ++step) {
    auto x = unit_rows(torch::randn({16, 30}, torch::kFloat64));
    if (strided) x = x.t().contiguous().t();
    fast.step(x, 0.05);
    dense_reference_step(dense, x, hyper, 0.05, &theta);
    CAPTURE(step);
    REQUIRE((fast.weights() - dense).abs().max().item<double>() < 1e-9);
    REQUIRE((fast.thresholds() - theta).abs().max().item<double>() < 1e-12);
  }
  // Thresholds move: up for frequent winners, down for the rest, summing to zero.
  CHECK(theta.max().item<double>() > 0);
  CHECK(theta.min().item<double>() < 0);
  CHECK(std::abs(theta.sum().item<double>()) < 1e-9);
}

TEST_CASE("homeostasis revives a unit that never wins; the published rule leaves it dead", "[krotov]") {
  // Ten units near the data and one pointing away from every input: its current is negative
  // for all of them, so it never ranks first without a threshold.
  auto run = [](double homeostasis) {
    torch::manual_seed(12);
    auto w = torch::rand({11, 20}, torch::kFloat64);
    w[10] = -torch::ones({20}, torch::kFloat64) / std::pow(20.0, 1.0 / 3.0);
    Hyper hyper{3.0, 2, 0.2, 1e-30};
    hyper.homeostasis = homeostasis;
    Synapses s(w.clone(), hyper);
    const auto dead_before = s.weights()[10].clone();
    for (int i = 0; i < 300; ++i) s.step(unit_rows(torch::rand({10, 20}, torch::kFloat64)), 0.02);
    return (s.weights()[10] - dead_before).abs().max().item<double>();
  };
  CHECK(run(0.0) < 1e-12);
  CHECK(run(0.02) > 0.1);
}
