// A stack of convolutional Krotov-Hopfield layers with pooling, a softmax head with batch norm
// and dropout on top, the `depth` key, and the refusals of shapes a conv layer cannot take.
#include <fstream>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "support/recipe_runs.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;

namespace {

struct ConvFixture {
  TempDir dir{"krotov_conv"};
  ConvFixture() {
    testing::write_idx_dataset(dir / "data/mnist", 300, 100, false);
    std::ofstream(dir / "c.yaml")
        << "seed: 0\n"
           "dataset: {name: mnist, root: '" + (dir / "data").string() + "', validation: 50, preprocess: []}\n"
           "layers:\n"
           "  - rule: {name: krotov_conv, kernels: 8, kernel: 5, padding: same, k: 2, delta: 0.1, eps0: 0.02,\n"
           "           epochs: 2, batch: 20, pool: max, pool_size: 4}\n"
           "  - rule: {name: krotov_conv, kernels: 12, kernel: 3, p: 3, normalise: global, epochs: 1, batch: 20,\n"
           "           pool: max, pool_size: 2, eps_schedule: exponential, eps_end: 0.001, eps_rate: 0.8}\n"
           "head: {name: softmax, epochs: 30, batch: 20, lr: 0.02, batch_norm: true, dropout: 0.2}\n"
           "stages: [train, evaluate, plot, save]\n";
  }
  recipe::Recipe resolve(const std::vector<std::string>& overrides = {}) {
    return testing::resolve_file(dir / "c.yaml", overrides);
  }
  pipeline::RunResult run(const std::string& out, const std::vector<std::string>& overrides = {}) {
    return testing::run_file(dir / "c.yaml", dir / out, overrides);
  }
  nlohmann::json read_json(const std::string& file) { return testing::read_json(dir / file); }
};

}  // namespace

TEST_CASE("a stack of conv Krotov layers with pooling and a softmax head learns the toy problem", "[krotov_conv][e2e]") {
  ConvFixture f;
  const auto result = f.run("run");
  REQUIRE(result.status == run::RunStatus::Completed);
  const auto summary = f.read_json("run/summary.json");
  CHECK(summary["test_accuracy"].get<double>() > 0.7);
  CHECK(std::filesystem::exists(f.dir / "run/artifacts/krotov_conv_kernels.png"));
  CHECK(io::load_npy(f.dir / "run/artifacts/layer0_weights.npy").sizes() == torch::IntArrayRef{8, 1, 5, 5});
  CHECK(io::load_npy(f.dir / "run/artifacts/layer1_weights.npy").sizes() == torch::IntArrayRef{12, 8, 3, 3});
  // 8 x 28 x 28 -> pool 4 -> 7 x 7 -> conv 3 -> 5 x 5 -> pool 2 -> 2 x 2: 48 features.
  CHECK(io::load_npy(f.dir / "run/artifacts/head_weight.npy").sizes() == torch::IntArrayRef{10, 48});

  INFO("the reopened model (kernels, both batch norms) gives the run's accuracy");
  const auto again = testing::reopen_run(f.dir / "run", f.dir / "reopened", "[evaluate]");
  REQUIRE(again.status == run::RunStatus::Completed);
  CHECK(f.read_json("reopened/summary.json")["test_accuracy"] == summary["test_accuracy"]);

  INFO("depth: 1 trains the bottom layer only, its head reads 8 x 7 x 7 features");
  const auto shallow = f.run("shallow", {"depth=1"});
  REQUIRE(shallow.status == run::RunStatus::Completed);
  CHECK_FALSE(std::filesystem::exists(f.dir / "shallow/artifacts/layer1_weights.npy"));
  CHECK(io::load_npy(f.dir / "shallow/artifacts/head_weight.npy").sizes() == torch::IntArrayRef{10, 392});
  // The bottom layer trained the same way in both runs.
  CHECK(torch::equal(io::load_npy(f.dir / "shallow/artifacts/layer0_weights.npy"),
                     io::load_npy(f.dir / "run/artifacts/layer0_weights.npy")));
}

TEST_CASE("Dale's law between conv layers: the signs are drawn once, kept and saved", "[krotov_conv][e2e]") {
  ConvFixture f;
  const auto result = f.run("dale", {"layers.1.rule.inhibitory=0.25", "head.epochs=3"});
  REQUIRE(result.status == run::RunStatus::Completed);
  const auto signs = io::load_npy(f.dir / "dale/artifacts/layer1_input_signs.npy");
  REQUIRE(signs.sizes() == torch::IntArrayRef{8});
  CHECK(signs.lt(0).sum().item<int>() == 2);
  const auto w = io::load_npy(f.dir / "dale/artifacts/layer1_weights.npy");
  CHECK((w * signs.view({1, 8, 1, 1})).min().item<double>() >= 0);
  CHECK(w.lt(0).any().item<bool>());  // the inhibitory channels' weights are in use
  const auto again = testing::reopen_run(f.dir / "dale", f.dir / "dale_reopened", "[evaluate]");
  REQUIRE(again.status == run::RunStatus::Completed);
  CHECK(f.read_json("dale_reopened/summary.json")["test_accuracy"] == f.read_json("dale/summary.json")["test_accuracy"]);
}

TEST_CASE("SoftHebb conv and linear layers learn the toy problem and reopen exactly", "[softhebb][e2e]") {
  ConvFixture f;
  std::ofstream(f.dir / "s.yaml")
      << "extends: c.yaml\n"
         "layers:\n"
         "  - rule: {name: softhebb, kernels: 8, kernel: 5, padding: 2, lr: 0.08, epochs: 4, batch: 10, power: 0.7,\n"
         "           pool: max, pool_size: 4, pool_stride: 4}\n"
         "  - rule: {name: softhebb, kernels: 16, kernel: 3, padding: 1, t_invert: 0.65, lr: 0.01, epochs: 4, batch: 10,\n"
         "           padding_mode: zeros, pool: avg, pool_size: 2}\n";
  const auto result = testing::run_file(f.dir / "s.yaml", f.dir / "softhebb");
  REQUIRE(result.status == run::RunStatus::Completed);
  CHECK(f.read_json("softhebb/summary.json")["test_accuracy"].get<double>() > 0.7);
  CHECK(io::load_npy(f.dir / "softhebb/artifacts/layer1_weights.npy").sizes() == torch::IntArrayRef{16, 8, 3, 3});
  CHECK(io::load_npy(f.dir / "softhebb/artifacts/head_weight.npy").sizes() == torch::IntArrayRef{10, 144});
  CHECK(std::filesystem::exists(f.dir / "softhebb/artifacts/softhebb_kernels.png"));
  const auto again = testing::reopen_run(f.dir / "softhebb", f.dir / "softhebb_reopened", "[evaluate]");
  REQUIRE(again.status == run::RunStatus::Completed);
  CHECK(f.read_json("softhebb_reopened/summary.json")["test_accuracy"] ==
        f.read_json("softhebb/summary.json")["test_accuracy"]);

  INFO("on flattened inputs a SoftHebb layer is linear: 1x1 kernels over (784, 1, 1)");
  const auto linear = testing::run_file(
      f.dir / "s.yaml", f.dir / "linear",
      {"dataset.preprocess=[flatten]", "depth=1", "layers.0.rule.kernels=40", "layers.0.rule.pool=none"});
  REQUIRE(linear.status == run::RunStatus::Completed);
  CHECK(io::load_npy(f.dir / "linear/artifacts/layer0_weights.npy").sizes() == torch::IntArrayRef{40, 784, 1, 1});
  CHECK(f.read_json("linear/summary.json")["test_accuracy"].get<double>() > 0.7);
}

TEST_CASE("conv layers refuse what they cannot take, before anything runs", "[krotov_conv][errors]") {
  ConvFixture f;
  CHECK_THROWS_WITH(f.resolve({"dataset.preprocess=[flatten]"}),
                    Contains("layers.0.rule.kernels: krotov_conv needs image-shaped inputs (channels, height, width); "
                             "its inputs are 784"));
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.stride=2"}),
                    Contains("layers.0.rule.padding: padding 'same' keeps the input's size, which a stride of 2 cannot"));
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.padding=two"}),
                    Contains("--set layers.0.rule.padding=two: layers.0.rule.padding: padding 'two' is not a number"));
  CHECK_THROWS_WITH(f.resolve({"layers.1.rule.kernel=9"}), Contains("layers.1.rule.kernel: a 9x9"));
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.k=9"}), Contains("k = 9 must not exceed kernels = 8"));
  CHECK_THROWS_WITH(f.resolve({"depth=3"}), Contains("depth: depth = 3 but the recipe has 2 layer(s)"));
  CHECK_THROWS_WITH(f.resolve({"head.momentum=0.9"}), Contains("momentum is SGD's"));
  CHECK_THROWS_WITH(f.resolve({"head.restart_epochs=10", "head.lr_decay=0.9"}),
                    Contains("head.lr_decay: the cosine schedule (restart_epochs > 0) sets the learning rate itself"));
  CHECK_THROWS_WITH(f.resolve({"head.restart_mult=2"}), Contains("head.restart_mult: restart_mult lengthens"));
}
