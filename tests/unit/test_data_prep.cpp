#include "support/catch.hpp"
#include <torch/types.h>

#include "hebbkit/preprocess.hpp"
#include "data/data_prep.hpp"

using namespace hebbkit;
using hebbkit::Preprocessor;

TEST_CASE("preprocessing steps do what their names say", "[data][preprocess]") {
  torch::manual_seed(0);
  const auto images = torch::rand({16, 3, 4, 4});
  SECTION("flatten") { CHECK(Preprocessor({"flatten"}).apply(images).sizes() == torch::IntArrayRef{16, 48}); }
  SECTION("center + unit_norm gives zero-mean unit vectors") {
    Preprocessor p({"flatten", "center", "unit_norm"});
    const auto x = p.apply(images);
    CHECK(x.mean(1).abs().max().item<float>() < 1e-6);
    CHECK((x.norm(2, {1}) - 1).abs().max().item<float>() < 1e-5);
  }
  SECTION("symmetric maps [0, 1] onto [-1, 1]") {
    const auto x = Preprocessor({"symmetric"}).apply(images);
    CHECK(torch::allclose(x, images * 2 - 1));
    CHECK(Preprocessor({"symmetric"}).apply(torch::tensor({0.0, 0.5, 1.0}).view({1, 3})).equal(
        torch::tensor({-1.0, 0.0, 1.0}).view({1, 3})));
  }
  SECTION("standardize uses train statistics per channel") {
    Preprocessor p({"standardize"});
    p.fit(images * 3 + 1);
    const auto x = p.apply(images * 3 + 1);
    CHECK(x.mean({0, 2, 3}).abs().max().item<float>() < 1e-5);
    CHECK((x.std({0, 2, 3}, false) - 1).abs().max().item<float>() < 1e-4);
    CHECK(p.apply(images * 3 + 1).sizes() == images.sizes());
  }
  SECTION("subtract_mean removes the training images' mean image and reopens from its state") {
    Preprocessor p({"flatten", "subtract_mean", "unit_norm"});
    const auto train = images * 3 + 1;
    p.fit(train);
    const auto centred = Preprocessor({"flatten"}).apply(train) - Preprocessor({"flatten"}).apply(train).mean(0);
    const auto x = p.apply(train);
    CHECK(torch::allclose(x, centred / centred.norm(2, {1}, true), 1e-5, 1e-6));
    // Each sample keeps its own mean (unlike center); only the shared mean image is gone.
    CHECK(p.apply(train).sizes() == torch::IntArrayRef{16, 48});
    const auto state = p.state();
    REQUIRE(state.size() == 1);
    Preprocessor reopened({"flatten", "subtract_mean", "unit_norm"});
    reopened.load_state(state);
    CHECK(torch::equal(reopened.apply(images), p.apply(images)));
    CHECK_THROWS(Preprocessor({"subtract_mean"}).apply(images));
  }
  SECTION("steps are differentiable") {
    // A weighted sum: a plain sum of centred, normalised values is always 0, so its
    // gradient would be 0 whether or not the steps pass gradients.
    auto x = images.clone().requires_grad_(true);
    const auto weights = torch::rand({images.size(0), images[0].numel()});
    (Preprocessor({"flatten", "center", "unit_norm"}).apply(x) * weights).sum().backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().abs().sum().item<double>() > 0);
  }
}

TEST_CASE("the validation split depends on the seed only and never overlaps train", "[data][split]") {
  DatasetContent content;
  content.train = Split{torch::arange(100, torch::kFloat32).view({100, 1, 1, 1}), torch::arange(100) % 10};
  content.test = Split{torch::zeros({5, 1, 1, 1}), torch::zeros({5}, torch::kInt64)};
  content.classes = std::vector<std::string>(10, "c");
  recipe::DataOptions options;
  options.validation = 20;
  const auto a = pipeline::prepare_data(content, options, 7, torch::kCPU);
  torch::manual_seed(123);  // the global generator must not matter
  const auto b = pipeline::prepare_data(content, options, 7, torch::kCPU);
  const auto c = pipeline::prepare_data(content, options, 8, torch::kCPU);
  CHECK(a.train.size() == 80);
  CHECK(a.val.size() == 20);
  CHECK(torch::equal(a.val.images, b.val.images));
  CHECK_FALSE(torch::equal(a.val.images, c.val.images));
  const auto all = torch::cat({a.train.images.flatten(), a.val.images.flatten()});
  CHECK(std::get<0>(all.sort()).equal(torch::arange(100, torch::kFloat32)));
  SECTION("limits") {
    options.validation = 0;
    options.train_limit = 30;
    options.test_limit = 2;
    const auto d = pipeline::prepare_data(content, options, 7, torch::kCPU);
    CHECK(d.train.size() == 30);
    CHECK(d.test.size() == 2);
    CHECK(d.image_shape == std::vector<std::int64_t>{1, 1, 1});
  }
}
