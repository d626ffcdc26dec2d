#include "support/catch.hpp"
#include <hebbkit/errors.hpp>
#include <hebbkit/label_overlay.hpp>
#include <hebbkit/training.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "ff_negatives.hpp"
#include "ff_objective.hpp"
#include "ff_schedule.hpp"

using namespace hebbkit;

TEST_CASE("the label overlay writes the one-hot label, scaled by the max, over the first pixels", "[ff]") {
  auto x = torch::rand({4, 1, 5, 5}) * 0.5;
  x[2][0][4][4] = 0.9;
  const auto labels = torch::tensor({3, 0, 9, 1});
  const auto y = overlay_label(x, labels, 10);
  REQUIRE(y.sizes() == torch::IntArrayRef{4, 25});
  CHECK(y[0][3].item<float>() == Approx(0.9f));
  CHECK(y[0].slice(0, 0, 10).sum().item<float>() == Approx(0.9f));
  CHECK(y[2][9].item<float>() == Approx(0.9f));
  CHECK(torch::equal(y.slice(1, 10), x.flatten(1).slice(1, 10)));
}

TEST_CASE("the neutral overlay spreads the max evenly over the label pixels", "[ff]") {
  auto x = torch::rand({3, 1, 5, 5}) * 0.5;
  x[1][0][4][4] = 0.8;
  const auto y = overlay_neutral_label(x, 4);
  REQUIRE(y.sizes() == torch::IntArrayRef{3, 25});
  CHECK(torch::allclose(y.slice(1, 0, 4), torch::full({3, 4}, 0.2)));
  CHECK(torch::equal(y.slice(1, 4), x.flatten(1).slice(1, 4)));
}

TEST_CASE("wrong labels are never the true one and cover every other class", "[ff]") {
  torch::manual_seed(0);
  const auto labels = torch::randint(0, 10, {5000}, torch::kInt64);
  const auto wrong = ff::wrong_labels(labels, 10);
  CHECK(wrong.ne(labels).all().item<bool>());
  CHECK(wrong.min().item<std::int64_t>() == 0);
  CHECK(wrong.max().item<std::int64_t>() == 9);
  const auto of_threes = wrong.masked_select(labels.eq(3));
  CHECK(std::get<0>(torch::_unique(of_threes)).size(0) == 9);
}

TEST_CASE("hybrid masks are binary, half on, and made of large regions", "[ff]") {
  torch::manual_seed(1);
  const auto mask = ff::hybrid_mask(64, 28, 28, torch::kCPU);
  REQUIRE(mask.sizes() == torch::IntArrayRef{64, 1, 28, 28});
  CHECK(mask.eq(0).logical_or(mask.eq(1)).all().item<bool>());
  const double on = mask.mean().item<double>();
  CHECK(on > 0.3);
  CHECK(on < 0.7);
  // Neighbouring pixels agree far more often than the 50% of independent bits.
  const double agree = mask.slice(3, 1).eq(mask.slice(3, 0, 27)).to(torch::kFloat64).mean().item<double>();
  CHECK(agree > 0.9);
}

TEST_CASE("hybrid negatives take every pixel from one of two images", "[ff]") {
  torch::manual_seed(2);
  const auto images = torch::rand({8, 1, 28, 28});
  const auto hybrid = ff::hybrid_negatives(images);
  REQUIRE(hybrid.sizes() == images.sizes());
  // Each hybrid pixel equals the pixel of its own image or of some other image.
  const auto from_self = hybrid.eq(images);
  CHECK(from_self.to(torch::kFloat64).mean().item<double>() > 0.2);
  CHECK(from_self.to(torch::kFloat64).mean().item<double>() < 0.95);
  const auto pixels = images.flatten(1).t();  // (784, 8): per pixel, the 8 candidates
  const auto h = hybrid.flatten(1).t();
  CHECK(h.unsqueeze(2).eq(pixels.unsqueeze(1)).any(2).all().item<bool>());
}

TEST_CASE("the loss is softplus around theta and pushes goodness the right way", "[ff]") {
  const auto at_theta = ff::loss(torch::full({3}, 2.0), torch::full({3}, 2.0), 2.0);
  CHECK(at_theta.item<double>() == Approx(std::log(2.0)));
  auto g_pos = torch::full({3}, 1.0, torch::requires_grad());
  auto g_neg = torch::full({3}, 1.0, torch::requires_grad());
  ff::loss(g_pos, g_neg, 2.0).backward();
  CHECK(g_pos.grad().lt(0).all().item<bool>());  // raising positive goodness lowers the loss
  CHECK(g_neg.grad().gt(0).all().item<bool>());  // raising negative goodness raises it
  CHECK(ff::goodness(torch::tensor({{1.0, 3.0}})).item<double>() == Approx(5.0));
}

TEST_CASE("only the direction of the input passes on", "[ff]") {
  const auto x = torch::randn({5, 7}) * 30;
  CHECK(torch::allclose(ff::direction(x).norm(2, {1}), torch::ones({5}), 1e-4));
  CHECK(torch::allclose(ff::direction(x * 3), ff::direction(x), 1e-5));
}

TEST_CASE("blur keeps constant images constant and the size unchanged", "[ff]") {
  const auto flat = torch::full({2, 1, 10, 12}, 0.25);
  const auto b = ff::blur(flat, 5, 7.0);
  REQUIRE(b.sizes() == flat.sizes());
  CHECK(torch::allclose(b, flat, 1e-6));
}

TEST_CASE("the hand-written step gives autograd's gradient of the layer's loss", "[ff]") {
  torch::manual_seed(3);
  torch::nn::Linear layer(12, 9);
  const auto x = torch::randn({10, 12}) * 4;  // 6 positives, 4 negatives, not normalised
  const std::int64_t positives = 6;
  const double theta = 0.7;
  // The direct way: normalise, forward, goodness, loss, autograd.
  auto weight = layer->weight.detach().clone().requires_grad_();
  auto bias = layer->bias.detach().clone().requires_grad_();
  const auto g = torch::relu(torch::mm(ff::direction(x), weight.t()) + bias).pow(2).mean(1);
  const auto expected_loss = ff::loss(g.slice(0, 0, positives), g.slice(0, positives), theta);
  expected_loss.backward();
  // Some units are off for some rows, so the ReLU's mask is exercised.
  CHECK(torch::relu(torch::mm(ff::direction(x), weight.t()) + bias).eq(0).any().item<bool>());

  torch::optim::SGD no_move(layer->parameters(), torch::optim::SGDOptions(0.0));
  const auto step = ff::train_step(layer, no_move, x, positives, theta);
  CHECK(step.loss == Approx(expected_loss.item<double>()).epsilon(1e-5));
  CHECK(step.goodness_pos == Approx(g.slice(0, 0, positives).sum().item<double>()).epsilon(1e-5));
  CHECK(step.goodness_neg == Approx(g.slice(0, positives).sum().item<double>()).epsilon(1e-5));
  CHECK(torch::allclose(layer->weight.grad(), weight.grad(), 1e-4, 1e-6));
  CHECK(torch::allclose(layer->bias.grad(), bias.grad(), 1e-4, 1e-6));
  CHECK(weight.grad().abs().max().item<double>() > 1e-4);  // a real gradient, not two zeros
}

TEST_CASE("a batch is the positive rows then the negative rows of the index", "[ff]") {
  const auto pos = torch::arange(12, torch::kFloat32).view({6, 2}), neg = -pos;
  torch::Tensor out;
  ff::gather_batch(pos, neg, torch::tensor({4, 1}), out);
  CHECK(torch::equal(out, torch::tensor({{8.f, 9.f}, {2.f, 3.f}, {-8.f, -9.f}, {-2.f, -3.f}})));
  const auto* storage = out.data_ptr<float>();
  ff::gather_batch(pos, neg, torch::tensor({0, 5}), out);  // same size: the buffer is reused
  CHECK(out.data_ptr<float>() == storage);
  CHECK(out[3][1].item<float>() == -11.f);
}

TEST_CASE("one product for all labels gives the first layer's activity of every overlay", "[ff]") {
  torch::manual_seed(4);
  torch::nn::Linear layer(30, 16);
  auto x = (torch::rand({7, 30}) * 0.8).requires_grad_();
  std::vector<torch::Tensor> shared;
  ff::first_layer_overlaid(layer, x, 10, [&](std::int64_t c, ff::Activity a) {
    CHECK(c == static_cast<std::int64_t>(shared.size()));
    CHECK(torch::allclose(a.squared_norm, a.value.pow(2).sum(1), 1e-5, 1e-6));
    shared.push_back(a.value);
  });
  REQUIRE(shared.size() == 10);
  for (std::int64_t c = 0; c < 10; ++c) {
    const auto direct = torch::relu(layer->forward(ff::direction(overlay_label(x, torch::full({7}, c, torch::kInt64), 10))));
    CAPTURE(c);
    CHECK(torch::allclose(shared[c], direct, 1e-5, 1e-6));
  }
  // Labels differ: the shared product is not one activity repeated.
  CHECK(!torch::allclose(shared[0], shared[1], 1e-3, 1e-4));
  // Differentiable in x, with the direct way's gradient.
  const auto grad_shared = torch::autograd::grad({torch::stack(shared).pow(2).sum()}, {x})[0];
  std::vector<torch::Tensor> direct;
  for (std::int64_t c = 0; c < 10; ++c)
    direct.push_back(torch::relu(layer->forward(ff::direction(overlay_label(x, torch::full({7}, c, torch::kInt64), 10)))));
  const auto grad_direct = torch::autograd::grad({torch::stack(direct).pow(2).sum()}, {x})[0];
  CHECK(torch::allclose(grad_shared, grad_direct, 1e-4, 1e-6));
  // Without autograd (scoring) the same activities, computed in place.
  torch::NoGradGuard no_grad;
  std::int64_t seen = 0;
  ff::first_layer_overlaid(layer, x, 10, [&](std::int64_t c, ff::Activity a) {
    CHECK(torch::allclose(a.value, direct[c], 1e-5, 1e-6));
    CHECK(torch::allclose(a.squared_norm, direct[c].pow(2).sum(1), 1e-5, 1e-6));
    ++seen;
  });
  CHECK(seen == 10);
}

TEST_CASE("a layer's activity with its input's normalisation as a row scale equals the plain form", "[ff]") {
  torch::manual_seed(6);
  torch::nn::Linear layer(20, 12);
  const double scale = GENERATE(1.0, std::sqrt(20.0));
  CAPTURE(scale);
  auto x = torch::relu(torch::randn({9, 20})).requires_grad_();
  const auto plain = torch::relu(layer->forward(ff::direction(x) * scale));
  const auto scaled = ff::activity(layer, x, scale);
  CHECK(torch::allclose(scaled, plain, 1e-5, 1e-6));
  CHECK(plain.eq(0).any().item<bool>());  // the ReLU cuts somewhere: the comparison covers it
  // Differentiable (attacks go through scoring), with the plain form's gradient.
  const auto g_plain = torch::autograd::grad({plain.pow(2).sum()}, {x})[0];
  const auto g_scaled = torch::autograd::grad({scaled.pow(2).sum()}, {x})[0];
  CHECK(torch::allclose(g_scaled, g_plain, 1e-4, 1e-6));
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(ff::activity(layer, x, scale), plain, 1e-5, 1e-6));
  // With the input's squared norms given, the one-pass loop: the same activity and its squares.
  const auto a = ff::activity(layer, ff::Activity{x, x.pow(2).sum(1)}, scale);
  CHECK(torch::allclose(a.value, plain, 1e-5, 1e-6));
  CHECK(torch::allclose(a.squared_norm, plain.pow(2).sum(1), 1e-5, 1e-6));
}

TEST_CASE("the generalised step gives autograd's gradient: sum goodness, RMS inputs, peer normalisation", "[ff]") {
  for (const bool full : {true, false}) {
    CAPTURE(full);
    torch::manual_seed(5);
    torch::nn::Linear layer(12, 9);
    const auto x = torch::randn({10, 12}) * 4;
    const std::int64_t positives = 6;
    ff::LayerObjective objective;
    objective.theta = 0.8;
    objective.sum_goodness = true;
    objective.input_scale = std::sqrt(12.0);
    objective.peer_weight = 0.5;  // large, so that its part of the gradient shows
    objective.peer_momentum = 0.9;
    objective.full_relu_grad = full;
    const auto running_before = torch::rand({9});

    auto weight = layer->weight.detach().clone().requires_grad_();
    auto bias = layer->bias.detach().clone().requires_grad_();
    const auto z = torch::mm(ff::direction(x) * std::sqrt(12.0), weight.t()) + bias;
    // Straight through: relu's value, identity's gradient.
    const auto a = full ? z + (torch::relu(z) - z).detach() : torch::relu(z);
    const auto g = a.pow(2).sum(1);
    const auto ff_loss = ff::loss(g.slice(0, 0, positives), g.slice(0, positives), 0.8 * 9);
    const auto r = running_before * 0.9 + a.slice(0, 0, positives).mean(0) * 0.1;
    const auto peer = (r.mean() - r).pow(2).mean();
    (ff_loss + 0.5 * peer).backward();

    torch::optim::SGD no_move(layer->parameters(), torch::optim::SGDOptions(0.0));
    torch::Tensor running = running_before.clone(), activity;
    const auto step = ff::train_step(layer, no_move, x, positives, objective, &running, &activity);
    CHECK(step.loss == Approx(ff_loss.item<double>()).epsilon(1e-5));
    CHECK(step.peer_loss == Approx(peer.item<double>()).epsilon(1e-5));
    CHECK(torch::allclose(running, r.detach(), 1e-5, 1e-7));
    CHECK(torch::allclose(activity, torch::relu(z).detach(), 1e-5, 1e-6));
    CHECK(torch::allclose(layer->weight.grad(), weight.grad(), 1e-4, 1e-6));
    CHECK(torch::allclose(layer->bias.grad(), bias.grad(), 1e-4, 1e-6));
  }
}

TEST_CASE("negatives: positives carry the true label, each epoch's negatives a fresh wrong one", "[ff]") {
  torch::manual_seed(4);
  const auto images = torch::rand({50, 1, 6, 6});
  const auto labels = torch::randint(0, 10, {50}, torch::kInt64);
  const auto supervised = ff::wrong_label_negatives(images, labels, 10);
  const auto pos = supervised->positives();
  CHECK(torch::equal(pos.slice(1, 0, 10).argmax(1), labels));
  const auto first = supervised->draw(), second = supervised->draw();
  CHECK_FALSE(first.slice(1, 0, 10).argmax(1).eq(labels).any().item<bool>());
  CHECK_FALSE(torch::equal(first, second));                                    // drawn again every epoch
  CHECK(torch::equal(first.slice(1, 10), pos.slice(1, 10)));                   // the image itself is kept
  const auto unsupervised = ff::hybrid_image_negatives(images);
  CHECK(torch::equal(unsupervised->positives(), images.flatten(1)));
  CHECK(unsupervised->draw().sizes() == images.flatten(1).sizes());
}

TEST_CASE("a stack's state reopens it exactly, and refuses layers that do not fit", "[ff]") {
  torch::manual_seed(5);
  ff::Stack stack(/*rms_input=*/true, /*normal_init=*/true);
  stack.add(12, 8, torch::kCPU);
  stack.add(8, 4, torch::kCPU);
  CHECK(stack.input_scale(1) == Approx(std::sqrt(8.0)));
  const auto x = torch::rand({3, 12});
  ff::Stack again(true, false);
  again.append_from(stack.state());
  REQUIRE(again.size() == 2);
  const auto a = stack.activations(x), b = again.activations(x);
  CHECK(torch::equal(a[1], b[1]));
  auto state = stack.state();
  state[2].second = torch::zeros({4, 7});  // ff1_weight that does not take layer 0's 8 outputs
  ff::Stack broken(true, false);
  CHECK_THROWS_AS(broken.append_from(state), DataError);
}

TEST_CASE("the schedule's learning rate: the optimizer's, then the cooldown over the second half", "[ff]") {
  ff::Training t;
  t.epochs = 10;
  t.optimizer.lr = 0.1;
  CHECK(t.lr_at(9) == Approx(0.1));
  t.lr_cooldown = true;
  CHECK(t.lr_at(5) == Approx(0.1));
  CHECK(t.lr_at(6) == Approx(0.1 * 2 * 5 / 10));
  CHECK(t.lr_at(10) == Approx(0.1 * 2 * 1 / 10));
}
