// The SDK's conv geometry, pooling, activations and parameter-free batch norm.
#include "support/catch.hpp"
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/spatial.hpp"

using namespace hebbkit;

namespace {
ConvGeometry square(std::int64_t kernel, std::int64_t stride, std::int64_t dilation, std::int64_t pad) {
  ConvGeometry g;
  g.kernel_h = g.kernel_w = kernel;
  g.stride_h = g.stride_w = stride;
  g.dilation_h = g.dilation_w = dilation;
  g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = pad;
  return g;
}
}  // namespace

TEST_CASE("conv geometry: unfolded patches times the kernels are torch's convolution", "[spatial]") {
  const auto [kernel, stride, dilation, pad] =
      GENERATE(table<int, int, int, int>({{3, 1, 1, 0}, {5, 1, 1, 2}, {3, 2, 1, 1}, {3, 1, 2, 2}, {2, 3, 2, 1}}));
  CAPTURE(kernel, stride, dilation, pad);
  const auto g = square(kernel, stride, dilation, pad);
  torch::manual_seed(2);
  const auto x = torch::randn({2, 3, 11, 9}, torch::kFloat64);
  const auto w = torch::randn({4, 3, kernel, kernel}, torch::kFloat64);
  const auto y = g.conv(x, w);
  const auto expected = torch::conv2d(x, w, {}, stride, pad, dilation);
  REQUIRE(torch::allclose(y, expected));
  const auto [ho, wo] = g.output_size(11, 9);
  CHECK(y.sizes() == torch::IntArrayRef{2, 4, ho, wo});
  // unfold: rows (b, ho, wo), columns in the kernels' (c, i, j) order.
  const auto patches = g.unfold(x);
  REQUIRE(patches.sizes() == torch::IntArrayRef{2 * ho * wo, 3 * kernel * kernel});
  const auto via_patches = torch::mm(patches, w.view({4, -1}).t()).view({2, ho, wo, 4}).permute({0, 3, 1, 2});
  CHECK(torch::allclose(via_patches, expected));
}

TEST_CASE("padding 'same' keeps the size, an even kernel pads one more at the far side", "[spatial]") {
  ConvGeometry g;
  g.kernel_h = g.kernel_w = 4;
  g.pad_top = g.pad_left = 1;
  g.pad_bottom = g.pad_right = 2;
  const auto x = torch::randn({1, 2, 7, 6});
  const auto y = g.conv(x, torch::randn({3, 2, 4, 4}));
  CHECK(y.sizes() == torch::IntArrayRef{1, 3, 7, 6});
  CHECK(g.output_size(7, 6) == std::array<std::int64_t, 2>{7, 6});
  CHECK_THROWS_AS(square(5, 1, 1, 0).output_size(4, 8), DataError);
}

TEST_CASE("pooling and activations", "[spatial]") {
  const auto x = torch::tensor({1.0, -2.0, 3.0, 0.5, -1.0, 4.0}, torch::kFloat64).view({1, 3, 1, 2});
  LayerActivation relu;
  CHECK(torch::equal(relu.apply(x), torch::relu(x)));
  LayerActivation triangle;
  triangle.activation = Activation::Triangle;
  triangle.power = 2.0;
  // Channel means at the two positions: (1 + 3 - 1) / 3 = 1 and (-2 + .5 + 4) / 3 = 5/6.
  const auto expected =
      torch::tensor({0.0, 0.0, 4.0, 0.0, 0.0, std::pow(4.0 - 5.0 / 6, 2)}, torch::kFloat64).view({1, 3, 1, 2});
  CHECK(torch::allclose(triangle.apply(x), expected));

  LayerActivation pooled;
  pooled.pool.kind = PoolKind::Max;
  pooled.pool.size = 3;
  pooled.pool.stride = 2;
  pooled.pool.padding = 1;
  const auto big = torch::randn({2, 5, 9, 8});
  const auto out = pooled.apply(big);
  CHECK(out.sizes() == torch::IntArrayRef{2, 5, 5, 4});
  CHECK(pooled.output_shape({5, 9, 8}) == std::vector<std::int64_t>{5, 5, 4});
  CHECK(torch::equal(out, torch::max_pool2d(torch::relu(big), 3, 2, 1)));
  // Without a graph max pooling is two window reductions; the same maxima as torch's.
  for (const auto& [size, stride, padding] : std::vector<std::array<std::int64_t, 3>>{{2, 2, 0}, {4, 2, 1}, {3, 1, 1}}) {
    Pool2d pool;
    pool.kind = PoolKind::Max;
    pool.size = size, pool.stride = stride, pool.padding = padding;
    CAPTURE(size, stride, padding);
    CHECK(torch::equal(pool.apply(big), torch::max_pool2d(big, size, stride, padding)));
    const auto wide = big.to(torch::kFloat64).transpose(2, 3);  // double, not contiguous
    CHECK(torch::equal(pool.apply(wide), torch::max_pool2d(wide, size, stride, padding)));
  }
  // A NaN in a window wins it, as in torch.
  auto holed = big.clone();
  holed[1][2][3][4] = std::numeric_limits<float>::quiet_NaN();
  Pool2d two;
  two.kind = PoolKind::Max;
  CHECK(torch::equal(two.apply(holed).isnan(), torch::max_pool2d(holed, 2, 2).isnan()));
  CHECK(two.apply(holed).isnan().sum().item<int>() == 1);
  // Gradients too (the pooling runs before the relu there).
  const auto leaf = big.clone().requires_grad_();
  pooled.apply(leaf).pow(2).sum().backward();
  const auto reference = big.clone().requires_grad_();
  torch::max_pool2d(torch::relu(reference), 3, 2, 1).pow(2).sum().backward();
  CHECK(torch::allclose(leaf.grad(), reference.grad()));
  pooled.power = 1.5;
  CHECK(torch::allclose(pooled.apply(big), torch::max_pool2d(torch::relu(big).pow(1.5), 3, 2, 1)));
}

TEST_CASE("a conv layer's output a few images at a time equals the whole batch's", "[spatial]") {
  torch::manual_seed(4);
  const auto g = square(3, 1, 1, 1);
  LayerActivation pooled;
  pooled.pool.kind = PoolKind::Max;
  // 64 kernels at 30 x 30: 230 KB of pre-activations per image, so 40 images take 3 chunks.
  const auto x = torch::randn({40, 3, 30, 30});
  const auto kernels = torch::randn({64, 3, 3, 3});
  const auto whole = pooled.apply(g.conv(x, kernels));
  const auto chunked = pooled.conv_output(g, x, kernels);
  CHECK(chunked.sizes() == whole.sizes());
  CHECK(torch::allclose(chunked, whole, 1e-5, 1e-5));
  // With a gradient wanted it is one differentiable call.
  const auto leaf = x.clone().requires_grad_();
  const auto y = pooled.conv_output(g, leaf, kernels);
  REQUIRE(y.requires_grad());
  y.sum().backward();
  CHECK(leaf.grad().abs().sum().item<double>() > 0);
}

TEST_CASE("channel norm: batch statistics while training, PyTorch's running averages after", "[spatial]") {
  torch::manual_seed(6);
  ChannelNorm norm(3, torch::TensorOptions().dtype(torch::kFloat64));
  const auto x = torch::randn({8, 3, 4, 4}, torch::kFloat64) * 3 + 2;
  const auto y = norm.train(x);
  CHECK(y.mean({0, 2, 3}).abs().max().item<double>() < 1e-9);
  CHECK((y.var({0, 2, 3}, /*unbiased=*/false) - 1).abs().max().item<double>() < 1e-3);
  // Running: 0.9 * (0, 1) + 0.1 * (batch mean, unbiased batch variance).
  const auto state = norm.state("n");
  CHECK(torch::allclose(state[0].second, 0.1 * x.mean({0, 2, 3})));
  CHECK(torch::allclose(state[1].second, 0.9 + 0.1 * x.var({0, 2, 3}, /*unbiased=*/true)));
  const auto after = norm.apply(x);
  CHECK(torch::allclose(after, (x - state[0].second.view({1, 3, 1, 1})) / (state[1].second.view({1, 3, 1, 1}) + 1e-5).sqrt()));
  ChannelNorm reopened;
  reopened.load_state(state, "n", 3);
  CHECK(torch::equal(reopened.apply(x), after));
  CHECK_THROWS_AS(reopened.load_state(state, "n", 4), DataError);
}

TEST_CASE("gather: rows of the patch matrix in chunks, as unfold gives them, zero or reflect padded", "[spatial]") {
  const bool reflect = GENERATE(false, true);
  auto g = square(3, 2, 1, 1);
  g.reflect = reflect;
  torch::manual_seed(3);
  const auto x = torch::randn({3, 2, 7, 6});
  const auto all = g.unfold(x);
  auto out = torch::empty({10, all.size(1)});
  g.gather(g.pad(x).contiguous(), 5, 10, out);
  CHECK(torch::equal(out, all.slice(0, 5, 15)));
  if (reflect) CHECK(torch::allclose(g.conv(x, torch::ones({1, 2, 3, 3})),
                                     torch::conv2d(torch::reflection_pad2d(x, {1, 1, 1, 1}), torch::ones({1, 2, 3, 3}), {}, 2)));
}
