// SCFF's parts against the authors' code: testdata/make_reference.py computes pairs, the
// shared-weight first layer, goodness, loss, gradients, one AdamW step, a second layer and
// the readout features as ContrastFF_MNIST.py does, from initial weights this test loads
// the way a recipe's `init: npy` does.
#include <numeric>

#include "support/catch.hpp"
#include <hebbkit/io.hpp>
#include <hebbkit/training.hpp>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "scff_layer.hpp"
#include "scff_pairs.hpp"
#include "scff_training.hpp"

using namespace hebbkit;

namespace {

torch::Tensor reference(const std::string& name) { return io::load_npy(std::string(SCFF_TESTDATA) + "/" + name + ".npy"); }

bool close(const torch::Tensor& a, const torch::Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, rtol, atol);
}

// The reference's two layers, started from its initial weights.
scff::Stack reference_stack() {
  scff::Stack stack(scff::Activation::Triangle);
  stack.start_from(std::string(SCFF_TESTDATA) + "/ref");
  stack.add(12, 7, torch::kCPU);
  stack.add(7, 6, torch::kCPU);
  return stack;
}

}  // namespace

TEST_CASE("pairs: an image beside its own view, and beside another image's view rolled by the offset", "[scff]") {
  const auto a = scff::standardize(reference("a")), b = scff::standardize(reference("b"));
  const auto pairs = scff::make_pairs(a, b, 2);
  CHECK(close(pairs.positive, reference("positive")));
  CHECK(close(pairs.negative, reference("negative")));
  // Row j's second half is b[(j + 2) mod 5].
  CHECK(torch::equal(pairs.negative.slice(1, 12)[4], b[1]));
}

TEST_CASE("the first layer, goodness, loss, gradients and one AdamW step match the authors' code", "[scff]") {
  auto stack = reference_stack();
  const auto pos = reference("positive"), neg = reference("negative");
  CHECK(close(stack.preactivation(0, pos), reference("z1_positive")));
  auto& layer = stack.layer(0);
  torch::optim::AdamW optimizer(layer->parameters(), torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  const auto result = scff::train_step(stack, 0, optimizer, pos, neg, {1.0, 2.0, 0.05});
  CHECK(result.loss == Approx(reference("loss1").item<double>()).epsilon(1e-6));
  CHECK(close(layer->weight.grad(), reference("grad_w1")));
  CHECK(close(layer->bias.grad(), reference("grad_b1")));
  CHECK(close(layer->weight, reference("w1_after")));
  CHECK(close(layer->bias, reference("b1_after")));
  CHECK(result.goodness_pos == Approx(scff::goodness(reference("z1_positive")).sum().item<double>()));
}

TEST_CASE("the second layer reads the first's triangle activity; features are each layer standardised", "[scff]") {
  auto stack = reference_stack();
  const auto pos = reference("positive"), neg = reference("negative");
  // The reference trained layer 1 first: step it the same way before the second layer.
  torch::optim::AdamW first(stack.layer(0)->parameters(), torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  scff::train_step(stack, 0, first, pos, neg, {1.0, 2.0, 0.05});
  CHECK(close(stack.through(pos, 1), reference("h_positive")));
  torch::optim::SGD none(stack.layer(1)->parameters(), torch::optim::SGDOptions(0.0));
  const auto result = scff::train_step(stack, 1, none, stack.through(pos, 1), stack.through(neg, 1), {0.5, 0.5, 0.0});
  CHECK(result.loss == Approx(reference("loss2").item<double>()).epsilon(1e-6));
  CHECK(close(stack.layer(1)->weight.grad(), reference("grad_w2")));
  const auto features = stack.features(scff::standardize(reference("a")));
  REQUIRE(features.size() == 2);
  CHECK(close(torch::cat(features, 1), reference("features"), 1e-4, 1e-5));
}

TEST_CASE("translations move each image by whole pixels with zeros shifted in", "[scff]") {
  const auto images = torch::arange(2 * 16, torch::kFloat32).view({2, 1, 4, 4}) + 1;
  const auto moved = scff::translate_by(images, torch::tensor({1, 0}), torch::tensor({0, -2}));
  // Image 0 one pixel right: column 0 is zero, column 1 holds the old column 0.
  CHECK(torch::equal(moved[0][0].select(1, 0), torch::zeros({4})));
  CHECK(torch::equal(moved[0][0].select(1, 1), images[0][0].select(1, 0)));
  // Image 1 two pixels up: its last two rows are zero, row 0 holds the old row 2.
  CHECK(torch::equal(moved[1][0][0], images[1][0][2]));
  CHECK(torch::equal(moved[1][0].slice(0, 2), torch::zeros({2, 4})));
  // Drawn offsets are round(U(-2, 2)): every value from -2 to 2 and nothing beyond.
  torch::manual_seed(0);
  const auto one = torch::zeros({400, 1, 9, 9});
  one.select(2, 4).select(2, 4).fill_(1);
  const auto where = scff::translate(one, 2).flatten(1).argmax(1);
  const auto dx = where % 9 - 4, dy = torch::div(where, 9, "floor") - 4;
  CHECK(dx.min().item<std::int64_t>() == -2);
  CHECK(dx.max().item<std::int64_t>() == 2);
  CHECK(dy.min().item<std::int64_t>() == -2);
  CHECK(dy.max().item<std::int64_t>() == 2);
  CHECK(dx.eq(0).sum().item<std::int64_t>() > dx.eq(2).sum().item<std::int64_t>());  // the ends have half the mass
}

TEST_CASE("negative offsets never pair an image with itself and reach every other row", "[scff]") {
  torch::manual_seed(0);
  std::vector<int> seen(5, 0);
  for (int i = 0; i < 500; ++i) ++seen.at(static_cast<std::size_t>(scff::draw_offset(5)));
  CHECK(seen[0] == 0);
  for (int k = 1; k < 5; ++k) CHECK(seen[static_cast<std::size_t>(k)] > 50);
  CHECK_THROWS(scff::draw_offset(1));
}

TEST_CASE("the learning rate decays every decay_every minibatches as the authors' scheduler", "[scff]") {
  scff::LayerTraining t;
  t.lr = 1.0;
  t.lr_decay = 0.5;
  t.decay_every = 3;
  // Their scheduler steps after batch n (1-based) when (n + 1) % 3 == 0: after batches 2, 5, 8.
  CHECK(t.lr_at(0) == 1.0);
  CHECK(t.lr_at(1) == 1.0);
  CHECK(t.lr_at(2) == 0.5);
  CHECK(t.lr_at(4) == 0.5);
  CHECK(t.lr_at(5) == 0.25);
}

TEST_CASE("a layer trained on pairs separates positive from negative goodness", "[scff]") {
  torch::manual_seed(3);
  // Sixteen different images (a bar across or down, at one of eight places) on faint noise;
  // an image beside itself is positive, beside any other negative.
  auto images = torch::rand({16, 1, 8, 8}) * 0.1;
  for (std::int64_t i = 0; i < 16; ++i)
    (i % 2 == 0 ? images[i][0].select(0, i / 2) : images[i][0].select(1, i / 2)).add_(1.0);
  scff::Stack stack(scff::Activation::Relu);
  stack.add(64, 32, torch::kCPU);
  torch::optim::AdamW optimizer(stack.layer(0)->parameters(), torch::optim::AdamWOptions(0.01));
  const scff::Objective objective{2.0, 2.0, 0.0};
  std::vector<double> losses;
  for (int step = 0; step < 200; ++step) {
    const auto pairs = scff::draw_pairs(images, {0, true});
    losses.push_back(scff::train_step(stack, 0, optimizer, pairs.positive, pairs.negative, objective).loss);
  }
  const double last = std::accumulate(losses.end() - 20, losses.end(), 0.0) / 20;
  CHECK(last < 0.3 * losses.front());
  torch::NoGradGuard no_grad;
  const auto pairs = scff::draw_pairs(images, {0, true});
  const auto g_pos = scff::goodness(stack.preactivation(0, pairs.positive));
  const auto g_neg = scff::goodness(stack.preactivation(0, pairs.negative));
  CHECK(g_pos.min().item<double>() > g_neg.max().item<double>());
}

TEST_CASE("a saved stack reopens exactly, and one whose layers do not fit is refused by name", "[scff]") {
  auto stack = reference_stack();
  scff::Stack again(scff::Activation::Triangle);
  again.append_from(stack.state());
  REQUIRE(again.size() == 2);
  const auto x = scff::standardize(reference("a"));
  CHECK(torch::equal(torch::cat(again.features(x), 1), torch::cat(stack.features(x), 1)));
  auto state = stack.state();
  state[2].second = torch::zeros({6, 5});  // layer 1 reading 5 values where layer 0 gives 7
  scff::Stack broken(scff::Activation::Triangle);
  CHECK_THROWS_WITH(broken.append_from(state), Catch::Matchers::Contains("scff layer 1 reads 5 values, but layer 0 gives 7"));
  state[2].second = torch::zeros({4, 7});  // 4 units, 6 biases
  CHECK_THROWS_WITH(broken.append_from(state), Catch::Matchers::Contains("scff layer 1: weight 4x7 and bias 6 do not make a layer"));
}
