// The backprop baseline end to end: it learns, logs per-epoch train/validation loss and
// accuracy, follows its learning-rate schedule, and is refused clearly where it cannot fit.
#include <fstream>
#include <map>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>

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
