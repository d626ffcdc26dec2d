#include <fstream>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

#include "hebbkit/io.hpp"
#include "hebbkit/goodness.hpp"
#include "hebbkit/training.hpp"
#include "data/data_prep.hpp"
#include "run/host_context.hpp"
#include "model/model_store.hpp"
#include "support/recipe_runs.hpp"
#include "support/scratch_run.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct FFFixture {
  TempDir dir{"ff"};
  FFFixture() {
    testing::write_idx_dataset(dir / "data/mnist", 400, 100, false);
    std::ofstream(dir / "sup.yaml")
        << "seed: 0\n"
           "dataset: {name: mnist, root: '" + (dir / "data").string() + "', validation: 100}\n"
           "layers:\n"
           "  - rule: {name: forward_forward, sizes: [60, 60], mode: supervised, theta: 2, lr: 0.03, epochs: 30, batch: 20}\n"
           "head: {name: ff_goodness}\n"
           "stages: [train, evaluate, save]\n";
    std::ofstream(dir / "unsup.yaml")
        << "seed: 0\n"
           "dataset: {name: mnist, root: '" + (dir / "data").string() + "', preprocess: []}\n"
           "layers:\n"
           "  - rule: {name: forward_forward, sizes: [60, 60], mode: unsupervised, epochs: 6, batch: 20, output: all}\n"
           "head: {name: softmax, epochs: 30, lr: 0.01}\n"
           "stages: [train, evaluate]\n";
  }
  pipeline::RunResult run(const std::string& recipe, const std::string& out, const std::vector<std::string>& set = {}) {
    return testing::run_file(dir / recipe, dir / out, set);
  }
  json summary(const std::string& out) { return testing::read_json(dir / out / "summary.json"); }
};

}  // namespace

TEST_CASE("supervised Forward-Forward with its goodness head learns the toy problem", "[ff][e2e]") {
  FFFixture f;
  REQUIRE(f.run("sup.yaml", "sup").status == run::RunStatus::Completed);
  CHECK(f.summary("sup")["test_accuracy"].get<double>() > 0.8);
  CHECK(io::load_npy(f.dir / "sup/artifacts/layer0_ff1_weight.npy").sizes() == torch::IntArrayRef{60, 60});
}

TEST_CASE("unsupervised Forward-Forward feeds a softmax head", "[ff][e2e]") {
  FFFixture f;
  REQUIRE(f.run("unsup.yaml", "unsup").status == run::RunStatus::Completed);
  CHECK(f.summary("unsup")["test_accuracy"].get<double>() > 0.8);
  SECTION("hybrid negatives need images, not flattened vectors") {
    const auto result = f.run("unsup.yaml", "flat", {"dataset.preprocess=[flatten]"});
    CHECK(result.exit_code == 2);
    CHECK_THAT(testing::read_json(f.dir / "flat/manifest.json")["error"].get<std::string>(),
               Contains("leave 'flatten' out of dataset.preprocess"));
  }
}

TEST_CASE("a softmax head reads supervised Forward-Forward through the neutral label", "[ff][e2e]") {
  FFFixture f;
  const std::vector<std::string> neutral = {"layers.0.rule.head_input=neutral_label", "layers.0.rule.output_norm=rms",
                                            "head={name: softmax, epochs: 30, lr: 0.01}"};
  REQUIRE(f.run("sup.yaml", "neutral", neutral).status == run::RunStatus::Completed);
  const double test = f.summary("neutral")["test_accuracy"].get<double>();
  CHECK(test > 0.8);
  // The class count travels with the layers, so a reopened model builds the same overlay.
  CHECK(io::load_npy(f.dir / "neutral/artifacts/layer0_label_classes.npy").item<std::int64_t>() == 10);
  REQUIRE(testing::reopen_run(f.dir / "neutral", f.dir / "again", "evaluate").status == run::RunStatus::Completed);
  CHECK(f.summary("again")["test_accuracy"].get<double>() == test);

  INFO("the features are each layer's activities over their RMS, taken with the neutral overlay");
  auto recipe = testing::resolve_file(f.dir / "neutral/recipe.resolved.yaml");
  auto model = model::build(recipe);
  model::load(model, recipe, f.dir / "neutral/model", torch::kCPU, false);
  const auto x = torch::rand({5, 784});
  const auto features = model.layer(0).forward(x);
  const auto acts = model.layer(0).forward_with_activations(overlay_neutral_label(x, 10)).activations;
  REQUIRE(features.sizes() == torch::IntArrayRef{5, 60});  // skip_first: layer 2 only
  const auto top = acts.back();
  CHECK(torch::allclose(features, top / (top.pow(2).mean(1, true).sqrt() + 1e-8), 1e-5, 1e-6));

  INFO("an unsupervised stack has no label to neutralise");
  CHECK_THROWS_WITH(testing::resolve_file(f.dir / "unsup.yaml", {"layers.0.rule.head_input=neutral_label"}),
                    Contains("layers.0.rule.head_input: neutral_label overlays a label: it needs mode: supervised"));
}

TEST_CASE("growth adds a layer only while validation accuracy improves enough", "[ff][growth]") {
  FFFixture f;
  SECTION("an unhelpful layer is removed again") {
    // No layer can improve accuracy by more than 100 points: one attempt, then removal.
    REQUIRE(f.run("sup.yaml", "grow", {"layers.0.rule.sizes=[60]", "layers.0.rule.output=all",
                                       "layers.0.rule.grow_width=30", "layers.0.rule.grow_margin=1.0",
                                       "layers.0.rule.epochs=5"}).status == run::RunStatus::Completed);
    std::ifstream metrics(f.dir / "grow/metrics.jsonl");
    std::vector<std::int64_t> depths;
    for (std::string line; std::getline(metrics, line);) {
      const auto r = json::parse(line);
      if (r["name"] == "val_accuracy_by_depth") depths.push_back(r["epoch"].get<std::int64_t>());
    }
    CHECK(depths == std::vector<std::int64_t>{1, 2});
    CHECK(std::filesystem::exists(f.dir / "grow/artifacts/layer0_ff0_weight.npy"));
    CHECK_FALSE(std::filesystem::exists(f.dir / "grow/artifacts/layer0_ff1_weight.npy"));
  }
  SECTION("growth is refused where it cannot be judged") {
    CHECK_THROWS_WITH(testing::resolve_file(f.dir / "unsup.yaml", {"layers.0.rule.grow_width=10"}),
                      Contains("layers.0.rule.grow_width: growth judges layers") && Contains("mode: supervised"));
    CHECK_THROWS_WITH(testing::resolve_file(f.dir / "sup.yaml", {"layers.0.rule.sizes=[10]"}),
                      Contains("output: skip_first needs at least two layers"));
  }
}

TEST_CASE("the goodness head is a differentiable classifier an attack can use", "[ff][attack]") {
  FFFixture f;
  auto recipe = testing::resolve_file(f.dir / "sup.yaml", {"layers.0.rule.epochs=10"});
  testing::ScratchRun scratch("ff_direct");
  auto& ctx = scratch.ctx;
  const auto content = recipe.dataset.make<Dataset>()->load(f.dir / "data", ctx);
  Model classifier = model::build(recipe);
  classifier.preprocessor().fit(content.train.images);
  TensorSource inputs(classifier.prepare(content.train.images), content.train.labels);
  classifier.layer(0).fit(LayerFit{inputs, nullptr, 10, 0}, ctx);
  classifier.head().fit(HeadFit{{}, content.train.labels, {}, {}, content.train.images, {}, classifier, 10}, ctx);

  const auto labels = content.test.labels.slice(0, 0, 50);
  auto images = content.test.images.slice(0, 0, 50).clone().requires_grad_(true);
  const auto logits = classifier.logits(images);
  REQUIRE(logits.sizes() == torch::IntArrayRef{50, 10});
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  loss.backward();
  REQUIRE(images.grad().abs().sum().item<double>() > 0);
  // One FGSM step along the gradient's sign raises the loss: the gradient is real.
  torch::NoGradGuard no_grad;
  const auto attacked = (images + 0.1 * images.grad().sign()).clamp(0, 1);
  CHECK(torch::nn::functional::cross_entropy(classifier.logits(attacked), labels).item<double>() > loss.item<double>());
}
