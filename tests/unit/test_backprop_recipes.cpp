// The backprop baseline end to end: it learns, logs per-epoch train/validation loss and
// accuracy, follows its learning-rate schedule, and is refused clearly where it cannot fit.
#include <fstream>
#include <map>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>

#include "hebbkit/io.hpp"
#include "support/recipe_runs.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct BackpropFixture {
  TempDir dir{"backprop"};
  BackpropFixture() { testing::write_idx_dataset(dir / "data/mnist", 300, 100, false); }
  std::filesystem::path recipe(const std::string& body) {
    const auto file = dir / "bp.yaml";
    std::ofstream(file) << "seed: 0\ndataset: {name: mnist, root: '" + (dir / "data").string() + "', " + body;
    return file;
  }
  // metric name -> values in file order, for one scope.
  std::map<std::string, std::vector<double>> metrics(const std::string& run, const std::string& scope) {
    std::map<std::string, std::vector<double>> out;
    std::ifstream in(dir / run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto record = json::parse(line);
      if (record["scope"] == scope) out[record["name"].get<std::string>()].push_back(record["value"].get<double>());
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a backprop mlp with its readout learns and logs train and validation curves", "[backprop][e2e]") {
  BackpropFixture f;
  const auto file = f.recipe("validation: 50, preprocess: [flatten]}\n"
                             "layers: [{rule: {name: backprop, model: mlp, hidden: [64], dropout: 0.2, epochs: 6, "
                             "batch: 25, lr: 0.003}}]\n"
                             "head: {name: readout}\n"
                             "stages: [train, evaluate]\n");
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  CHECK(testing::read_json(f.dir / "run/summary.json")["test_accuracy"].get<double>() > 0.8);
  auto m = f.metrics("run", "layers.0");
  for (const char* name : {"loss", "train_accuracy", "val_accuracy", "val_loss", "lr"}) {
    CAPTURE(name);
    CHECK(m[name].size() == 6);
  }
  CHECK(m["loss"].back() < m["loss"].front());
}

TEST_CASE("sgd with a step schedule lowers the learning rate every lr_step epochs", "[backprop]") {
  BackpropFixture f;
  const auto file = f.recipe("preprocess: [flatten]}\n"
                             "layers: [{rule: {name: backprop, model: control, optimizer: sgd, momentum: 0.5, lr: 0.1, "
                             "lr_decay: 0.1, lr_step: 2, epochs: 5, batch: 50}}]\n"
                             "head: {name: readout}\n"
                             "stages: [train, evaluate]\n");
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  const auto lr = f.metrics("run", "layers.0")["lr"];
  REQUIRE(lr.size() == 5);
  CHECK(lr[0] == Approx(0.1));
  CHECK(lr[1] == Approx(0.1));
  CHECK(lr[2] == Approx(0.01));
  CHECK(lr[4] == Approx(0.001));
}

TEST_CASE("backprop and readout are refused clearly where they cannot work", "[backprop][errors]") {
  BackpropFixture f;
  SECTION("simple_cnn on flattened inputs") {
    const auto file = f.recipe("preprocess: [flatten]}\n"
                               "layers: [{rule: {name: backprop, model: simple_cnn, epochs: 1}}]\n"
                               "head: {name: readout}\n");
    const auto result = testing::run_file(file, f.dir / "flat");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.error, Contains("backprop simple_cnn needs image inputs (C, H, W)") &&
                                 Contains("leave 'flatten' out of dataset.preprocess"));
  }
  SECTION("readout on a layer that is not a classifier") {
    const auto file = f.recipe("preprocess: [flatten, center, unit_norm]}\n"
                               "layers: [{rule: {name: krotov, hidden: 30, k: 3, epochs: 1}}]\n"
                               "head: {name: readout}\n");
    const auto result = testing::run_file(file, f.dir / "readout");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.error, Contains("head readout: the top layer gives 30 outputs, but there are 10 classes"));
  }
}

namespace {
// SoftHebb's block shape in small: batch norm, reflect padding, conv, triangle^power, pooling.
const std::string conv_twin =
    "{name: backprop, model: conv, channels: [8, 16], kernel: [5, 3], padding: [2, 1], padding_mode: reflect, "
    "input_norm: true, activation: triangle, power: [0.7, 1.0], pool: [max, avg], pool_size: [4, 2], "
    "pool_stride: [2], pool_padding: [1, 0], dense: [20], dropout: 0.2, optimizer: adam, lr: 0.003, epochs: 6, "
    "batch: 25}";
}  // namespace

TEST_CASE("a backprop conv twin builds a Hebbian conv stack's blocks and learns end to end", "[backprop][conv]") {
  BackpropFixture f;
  const auto file = f.recipe("validation: 50, preprocess: []}\nlayers: [{rule: " + conv_twin +
                             "}]\nhead: {name: readout}\nstages: [train, evaluate, save]\n");
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  const auto summary = testing::read_json(f.dir / "run/summary.json");
  CHECK(summary["test_accuracy"].get<double>() > 0.8);
  // 28 -> conv5 pad 2: 28 -> max 4/2/1: 14 -> conv3 pad 1: 14 -> avg 2/2: 7; 16 x 7 x 7 features.
  CHECK(io::load_npy(f.dir / "run/artifacts/layer0_2_weight.npy").sizes() == torch::IntArrayRef{8, 1, 5, 5});
  CHECK(io::load_npy(f.dir / "run/artifacts/layer0_11_weight.npy").sizes() == torch::IntArrayRef{20, 16 * 7 * 7});
  CHECK(io::load_npy(f.dir / "run/artifacts/layer0_0_running_var.npy").sizes() == torch::IntArrayRef{1});
  REQUIRE(testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate").status == run::RunStatus::Completed);
  CHECK(testing::read_json(f.dir / "again/summary.json")["test_accuracy"] == summary["test_accuracy"]);

  INFO("blocks: 1 cuts the network after its first block: conv 8, max pool to 14 x 14, dropout, the classifier");
  REQUIRE(testing::run_file(file, f.dir / "one", {"layers.0.rule.blocks=1", "layers.0.rule.epochs=1"}).status ==
          run::RunStatus::Completed);
  CHECK(io::load_npy(f.dir / "one/artifacts/layer0_7_weight.npy").sizes() == torch::IntArrayRef{10, 8 * 14 * 14});
}

TEST_CASE("the conv twin's keys fail by name where they do not fit", "[backprop][conv][errors]") {
  BackpropFixture f;
  const auto file = f.recipe("preprocess: []}\nlayers: [{rule: " + conv_twin + "}]\nhead: {name: readout}\n");
  const auto fails = [&](const std::string& set, const std::string& message) {
    CAPTURE(set);
    CHECK_THROWS_WITH(testing::resolve_file(file, {set}), Contains(message));
  };
  fails("layers.0.rule.kernel=[5, 3, 3]", "layers.0.rule.kernel: give a list of one value (for every block) or of "
                                          "one per block (2); got 3");
  fails("layers.0.rule.pool=[max, median]", "layers.0.rule.pool: 'median' is none of none, max, avg");
  fails("layers.0.rule.power=[0]", "layers.0.rule.power: values must be above 0");
  fails("layers.0.rule.model=mlp", "layers.0.rule.channels: channels describe conv blocks: they need model: conv");
  fails("layers.0.rule.channels=[]", "model: conv needs the kernels of each block");
  fails("layers.0.rule.blocks=4", "layers.0.rule.blocks: blocks = 4 but there are 2 conv blocks and 1 dense layers");
  const auto big = testing::run_file(file, f.dir / "big", {"layers.0.rule.kernel=[40]"});
  CHECK(big.exit_code == 2);
  CHECK_THAT(big.error, Contains("backprop conv: the blocks do not fit inputs of 1x28x28"));
}
