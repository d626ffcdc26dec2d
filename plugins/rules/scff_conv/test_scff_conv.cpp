// The conv SCFF layers against the authors' code: testdata/make_reference.py computes pairs of
// images, the shared-kernel first layer, goodness over places, the loss with its norm penalty,
// gradients, one AdamW step, a second layer on the first's positives and negatives, a third on
// pairs made afresh, and the readout features as ContrastFF_CIFAR.py does, from initial
// kernels this test loads the way a recipe's `init: npy` does.
#include "support/catch.hpp"
#include <hebbkit/io.hpp>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "scff_conv.hpp"
#include "scff_pairs.hpp"
#include "scff_training.hpp"

using namespace hebbkit;

namespace {

torch::Tensor reference(const std::string& name) {
  return io::load_npy(std::string(SCFF_CONV_TESTDATA) + "/" + name + ".npy");
}

bool close(const torch::Tensor& a, const torch::Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, rtol, atol);
}

scff::Pooling pooling(scff::PoolKind kind, std::int64_t size, std::int64_t stride, std::int64_t padding) {
  scff::Pooling p;
  p.kind = kind, p.size = size, p.stride = stride, p.padding = padding;
  return p;
}

// The reference's three layers: 5, 6 and 7 kernels of 3x3 with reflect padding 1; triangle,
// triangle, relu; max-pool 4/2/1, max-pool 4/2/1, avg-pool 2/2; layers 0 and 2 read pairs.
scff::ConvStack empty_reference_stack() {
  std::vector<scff::ConvLayerSpec> specs(3);
  const std::int64_t kernels[] = {5, 6, 7};
  for (std::size_t i = 0; i < 3; ++i) {
    specs[i].channels = kernels[i];
    specs[i].kernel = 3;
    specs[i].padding = 1;
    specs[i].activation = i < 2 ? scff::Activation::Triangle : scff::Activation::Relu;
    specs[i].pool = i < 2 ? pooling(scff::PoolKind::Max, 4, 2, 1) : pooling(scff::PoolKind::Avg, 2, 2, 0);
    specs[i].pairs = i != 1;
  }
  return scff::ConvStack(specs, 3, pooling(scff::PoolKind::Avg, 2, 2, 0));
}

// Its layers, started from the reference's initial kernels.
scff::ConvStack reference_stack() {
  auto stack = empty_reference_stack();
  stack.start_from(std::string(SCFF_CONV_TESTDATA) + "/ref");
  for (int i = 0; i < 3; ++i) stack.grow(torch::kCPU);
  return stack;
}

// What the reference's first step did, so that the layers above see the same first layer.
void first_step(scff::ConvStack& stack) {
  torch::optim::AdamW optimizer(stack.layer_parameters(0), torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  scff::train_step(stack, 0, optimizer, reference("positive"), reference("negative"), {0.0, 1.0, 0.05});
}

}  // namespace

TEST_CASE("conv pairs: images beside themselves along the channels, negatives rolled by the offset", "[scff_conv]") {
  const auto s = scff::standardize(reference("images"));
  const auto pairs = scff::make_pairs(s, s, 1);
  CHECK(close(pairs.positive, reference("positive")));
  CHECK(close(pairs.negative, reference("negative")));
  CHECK(torch::equal(pairs.negative[3].slice(0, 3), s[0]));  // image 3 beside image (3 + 1) mod 4
}

TEST_CASE("the first conv layer, goodness over places, the loss and one AdamW step match the authors' code",
          "[scff_conv]") {
  auto stack = reference_stack();
  const auto pos = reference("positive"), neg = reference("negative");
  CHECK(close(stack.preactivation(0, pos), reference("z0_positive")));
  torch::optim::AdamW optimizer(stack.layer_parameters(0), torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  const auto result = scff::train_step(stack, 0, optimizer, pos, neg, {0.0, 1.0, 0.05});
  CHECK(result.loss == Approx(reference("loss0").item<double>()).epsilon(1e-6));
  const auto parameters = stack.layer_parameters(0);
  CHECK(close(parameters[0].grad(), reference("grad_w0")));
  CHECK(close(parameters[1].grad(), reference("grad_b0")));
  CHECK(close(parameters[0], reference("w0_after")));
  CHECK(close(parameters[1], reference("b0_after")));
  // Each positive's goodness averaged over its places, summed over the batch.
  CHECK(result.goodness_pos ==
        Approx(scff::goodness(reference("z0_positive")).mean({1, 2}).sum().item<double>()).epsilon(1e-6));
}

TEST_CASE("a layer that keeps the streams reads the pooled positives and negatives below; one that pairs reads "
          "fresh pairs of the positives",
          "[scff_conv]") {
  auto stack = reference_stack();
  first_step(stack);
  const auto pos = reference("positive"), neg = reference("negative");
  CHECK(close(stack.through(pos, 1), reference("h1_positive")));
  torch::optim::SGD none1(stack.layer_parameters(1), torch::optim::SGDOptions(0.0));
  const auto second = scff::train_step(stack, 1, none1, stack.through(pos, 1), stack.through(neg, 1), {0.5, 1.5, 0.02});
  CHECK(second.loss == Approx(reference("loss1").item<double>()).epsilon(1e-6));
  CHECK(close(stack.layer_parameters(1)[0].grad(), reference("grad_w1")));

  const auto h2 = scff::standardize(stack.through(pos, 0, 2));
  const auto fresh = scff::make_pairs(h2, h2, 3);
  torch::optim::SGD none2(stack.layer_parameters(2), torch::optim::SGDOptions(0.0));
  const auto third = scff::train_step(stack, 2, none2, fresh.positive, fresh.negative, {0.3, 0.8, 0.01});
  CHECK(third.loss == Approx(reference("loss2").item<double>()).epsilon(1e-6));
  CHECK(close(stack.layer_parameters(2)[0].grad(), reference("grad_w2")));

  // layer_inputs builds the same: layer 1's from the pairs below, layer 2's from a drawn offset.
  const scff::Pairs images{pos, neg};
  const auto ones = scff::layer_inputs(stack, 1, images, {0, 4});
  CHECK(close(ones.positive, stack.through(pos, 1)));
  CHECK(close(ones.negative, stack.through(neg, 1)));
  torch::manual_seed(5);
  const auto offset = scff::draw_offset(4);
  torch::manual_seed(5);
  const auto twos = scff::layer_inputs(stack, 2, images, {1, 3});  // a process's rows 1 and 2
  const auto expected = scff::make_pairs(h2, h2, offset);
  CHECK(close(twos.positive, expected.positive.slice(0, 1, 3)));
  CHECK(close(twos.negative, expected.negative.slice(0, 1, 3)));
}

TEST_CASE("the readout: each layer pooled and standardised, pairing layers reading their input beside itself",
          "[scff_conv]") {
  auto stack = reference_stack();
  first_step(stack);
  const auto features = stack.features(reference("images"));
  REQUIRE(features.size() == 3);
  CHECK(close(torch::cat(features, 1), reference("features"), 1e-4, 1e-5));
  const auto shapes = stack.feature_shapes({3, 8, 8});
  CHECK(shapes[0] == std::vector<std::int64_t>{5, 2, 2});
  CHECK(shapes[1] == std::vector<std::int64_t>{6, 1, 1});
  CHECK(shapes[2] == std::vector<std::int64_t>{7, 1, 1});
  CHECK(features[0].size(1) == 20);
}

TEST_CASE("a saved conv stack reopens exactly; kernels that do not fit the recipe are refused by name", "[scff_conv]") {
  auto stack = reference_stack();
  const auto state = stack.state();
  REQUIRE(state.size() == 6);
  CHECK(state[0].first == "scff0_weight");
  auto again = empty_reference_stack();
  again.append_from(state);
  REQUIRE(again.size() == 3);
  const auto images = reference("images");
  CHECK(torch::equal(torch::cat(again.features(images), 1), torch::cat(stack.features(images), 1)));
  auto broken = state;
  broken[2].second = torch::zeros({6, 4, 3, 3});  // layer 1 reading 4 channels where layer 0 gives 5
  auto refused = empty_reference_stack();
  CHECK_THROWS_WITH(refused.append_from(broken),
                    Catch::Matchers::Contains("scff layer 1: kernels 6x4x3x3 and bias 6 do not fit the recipe's 6 "
                                              "kernels of 3x3 on 5 channels"));
}

TEST_CASE("a kernel or pooling window larger than what reaches it is refused at planning", "[scff_conv]") {
  auto stack = empty_reference_stack();
  CHECK_THROWS_WITH(stack.output_shapes({3, 2, 2}), Catch::Matchers::Contains("scff layer 1: its kernel or pooling window"));
}
