// Self-Contrastive Forward-Forward end to end: a recipe trains the stack (dense, or conv
// layers) greedily without labels, a softmax head reads every layer's standardised
// activity, the learning rate follows its per-minibatch schedule, the model reopens exactly,
// and bad keys fail by name.
#include <fstream>
#include <iterator>
#include <map>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>

#include "hebbkit/io.hpp"
#include "model/model_store.hpp"
#include "support/recipe_runs.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct ScffFixture {
  TempDir dir{"scff"};
  ScffFixture() {
    testing::write_idx_dataset(dir / "data/mnist", 400, 100, false);
    std::ofstream(dir / "scff.yaml")
        << "seed: 0\n"
           "dataset: {name: mnist, root: '" + (dir / "data").string() + "', preprocess: []}\n"
           "layers:\n"
           "  - rule: {name: scff, sizes: [40, 30], epochs: [3, 2], batch: 20, lr: [0.003, 0.002], lr_decay: [0.5],\n"
           "           decay_every: [25], theta_pos: [4, 1], theta_neg: [6, 1], penalty: [0.0001, 0]}\n"
           "head: {name: softmax, epochs: 12, batch: 64, lr: 0.01, lr_decay: 0.5, lr_milestones: [5, 9], dropout: 0.2}\n"
           "stages: [train, evaluate, plot, save]\n";
  }
  pipeline::RunResult run(const std::string& out, const std::vector<std::string>& set = {}) {
    return testing::run_file(dir / "scff.yaml", dir / out, set);
  }
  // metric name -> values in file order, for one scope.
  std::map<std::string, std::vector<double>> metrics(const std::string& out, const std::string& scope) {
    std::map<std::string, std::vector<double>> m;
    std::ifstream in(dir / out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto r = json::parse(line);
      if (r["scope"] == scope) m[r["name"].get<std::string>()].push_back(r["value"].get<double>());
    }
    return m;
  }
};

}  // namespace

TEST_CASE("scff trains its layers greedily and a softmax head reads them", "[scff][e2e]") {
  ScffFixture f;
  REQUIRE(f.run("run").status == run::RunStatus::Completed);
  const auto summary = testing::read_json(f.dir / "run/summary.json");
  CHECK(summary["test_accuracy"].get<double>() > 0.8);
  CHECK(io::load_npy(f.dir / "run/artifacts/layer0_scff0_weight.npy").sizes() == torch::IntArrayRef{40, 784});
  CHECK(io::load_npy(f.dir / "run/artifacts/layer0_scff1_weight.npy").sizes() == torch::IntArrayRef{30, 40});
  CHECK(std::filesystem::exists(f.dir / "run/artifacts/scff_units.png"));

  INFO("each layer logs its epochs; the rate decays every 25 minibatches (20 per epoch)");
  auto m = f.metrics("run", "layers.0");
  CHECK(m["layer0_loss"].size() == 3);
  CHECK(m["layer1_loss"].size() == 2);
  CHECK(m["layer0_goodness_pos"].size() == 3);
  // Last minibatch of epochs 0, 1, 2: steps 19, 39, 59 -> 0.003 x 0.5^floor(20/25, 40/25, 60/25).
  CHECK(m["layer0_lr"] == std::vector<double>{0.003, 0.0015, 0.00075});
  INFO("the head's rate halves at its milestones (epochs 5 and 9)");
  const auto head_lr = f.metrics("run", "head")["lr"];
  REQUIRE(head_lr.size() == 12);
  CHECK(head_lr[4] == Approx(0.01));
  CHECK(head_lr[5] == Approx(0.005));
  CHECK(head_lr[9] == Approx(0.0025));

  INFO("the features are both layers' activities, each standardised");
  auto recipe = testing::resolve_file(f.dir / "run/recipe.resolved.yaml");
  auto model = model::build(recipe);
  model::load(model, recipe, f.dir / "run/model", torch::kCPU, false);
  const auto x = torch::rand({6, 1, 28, 28});
  const auto out = model.layer(0).forward_with_activations(x);
  REQUIRE(out.output.sizes() == torch::IntArrayRef{6, 70});
  CHECK(torch::allclose(out.output.slice(1, 0, 40).mean(1), torch::zeros({6}), 1e-4, 1e-5));
  CHECK(torch::allclose(out.output.slice(1, 40).std(1), torch::ones({6}), 1e-4, 1e-5));
  REQUIRE(testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate").status == run::RunStatus::Completed);
  CHECK(testing::read_json(f.dir / "again/summary.json")["test_accuracy"] == summary["test_accuracy"]);

  INFO("init: npy starts every layer from a saved model's files (0 epochs keep them as they are)");
  REQUIRE(f.run("from", {"layers.0.rule.init=npy", "layers.0.rule.init_prefix=" + (f.dir / "run/model/layer0").string(),
                         "layers.0.rule.epochs=[0]"})
              .status == run::RunStatus::Completed);
  CHECK(torch::equal(io::load_npy(f.dir / "from/artifacts/layer0_scff1_weight.npy"),
                     io::load_npy(f.dir / "run/artifacts/layer0_scff1_weight.npy")));
}

TEST_CASE("scff's keys fail by name where they do not fit", "[scff][errors]") {
  ScffFixture f;
  CHECK_THROWS_WITH(testing::resolve_file(f.dir / "scff.yaml", {"layers.0.rule.lr=[0.1, 0.2, 0.3]"}),
                    Contains("layers.0.rule.lr: give a list of one value (for every layer) or of one per layer (2); got 3"));
  CHECK_THROWS_WITH(testing::resolve_file(f.dir / "scff.yaml", {"layers.0.rule.lr_decay=[0]"}),
                    Contains("layers.0.rule.lr_decay: must lie in (0, 1]"));
  CHECK_THROWS_WITH(testing::resolve_file(f.dir / "scff.yaml", {"layers.0.rule.init=npy"}),
                    Contains("layers.0.rule.init_prefix"));
  const auto flat = f.run("flat", {"dataset.preprocess=[flatten]"});
  CHECK(flat.exit_code == 2);
  CHECK_THAT(testing::read_json(f.dir / "flat/manifest.json")["error"].get<std::string>(),
             Contains("layers.0.rule.shift = 2: scff translates images") && Contains("or set shift: 0"));
  CHECK(f.run("flat_same", {"dataset.preprocess=[flatten]", "layers.0.rule.shift=0", "layers.0.rule.epochs=[1]"})
            .status == run::RunStatus::Completed);
}

TEST_CASE("scff_conv trains conv layers greedily, the upper one on fresh pairs, and a head reads them", "[scff][e2e]") {
  TempDir dir{"scff_conv"};
  testing::write_idx_dataset(dir / "data/mnist", 400, 100, false);
  std::ofstream(dir / "conv.yaml")
      << "seed: 0\n"
         "dataset: {name: mnist, root: '" + (dir / "data").string() + "', preprocess: []}\n"
         "layers:\n"
         "  - rule: {name: scff_conv, channels: [6, 8], kernel: [3], padding: [1], activation: [triangle, relu],\n"
         "           pool: [max, avg], pool_size: [2], pool_stride: [2], pool_padding: [0], pair_layers: [0, 1],\n"
         "           epochs: [2, 1], batch: 20, lr: [0.01, 0.002], lr_decay: [1], decay_every: [100],\n"
         "           weight_decay: [0.0001], theta_pos: [0, 1], theta_neg: [1, 2], penalty: [0.001]}\n"
         "head: {name: softmax, epochs: 12, batch: 64, lr: 0.01, dropout: 0.2}\n"
         "stages: [train, evaluate, plot, save]\n";
  REQUIRE(testing::run_file(dir / "conv.yaml", dir / "run").status == run::RunStatus::Completed);
  const auto summary = testing::read_json(dir / "run/summary.json");
  CHECK(summary["test_accuracy"].get<double>() > 0.8);
  CHECK(io::load_npy(dir / "run/artifacts/layer0_scff0_weight.npy").sizes() == torch::IntArrayRef{6, 1, 3, 3});
  CHECK(io::load_npy(dir / "run/artifacts/layer0_scff1_weight.npy").sizes() == torch::IntArrayRef{8, 6, 3, 3});
  CHECK(std::filesystem::exists(dir / "run/artifacts/scff_conv_kernels.png"));
  std::ifstream log_file(dir / "run/log.txt");
  const std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
  CHECK_THAT(log, Contains("layer 1: 8 kernels of 3x3 on 6 channels (pairs, shared kernels)"));

  INFO("the features: each layer pooled 2x2 more and standardised, 6 x 7 x 7 + 8 x 4 x 4");
  auto recipe = testing::resolve_file(dir / "run/recipe.resolved.yaml");
  auto model = model::build(recipe);
  model::load(model, recipe, dir / "run/model", torch::kCPU, false);
  const auto out = model.layer(0).forward_with_activations(torch::rand({5, 1, 28, 28}));
  REQUIRE(out.output.sizes() == torch::IntArrayRef{5, 6 * 7 * 7 + 8 * 4 * 4});
  CHECK(torch::allclose(out.output.slice(1, 0, 294).std(1), torch::ones({5}), 1e-4, 1e-5));
  REQUIRE(testing::reopen_run(dir / "run", dir / "again", "evaluate").status == run::RunStatus::Completed);
  CHECK(testing::read_json(dir / "again/summary.json")["test_accuracy"] == summary["test_accuracy"]);

  INFO("keys that do not fit fail by name");
  CHECK_THROWS_WITH(testing::resolve_file(dir / "conv.yaml", {"layers.0.rule.pair_layers=[0, 2]"}),
                    Contains("layers.0.rule.pair_layers: layer 2 does not exist: there are 2 layers"));
  CHECK_THROWS_WITH(testing::resolve_file(dir / "conv.yaml", {"layers.0.rule.activation=[sigmoid]"}),
                    Contains("layers.0.rule.activation: 'sigmoid' is neither relu nor triangle"));
  CHECK_THROWS_WITH(testing::resolve_file(dir / "conv.yaml", {"layers.0.rule.kernel=[3, 3, 3]"}),
                    Contains("layers.0.rule.kernel: give a list of one value (for every layer) or of one per layer (2)"));
  CHECK_THROWS_WITH(testing::run_file(dir / "conv.yaml", dir / "flat", {"dataset.preprocess=[flatten]"}),
                    Contains("scff_conv needs image inputs (C, H, W), got 784"));
  CHECK_FALSE(std::filesystem::exists(dir / "flat"));
}
