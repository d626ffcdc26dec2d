#include <fstream>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>

#include "run/run_store.hpp"
#include "run/signals.hpp"
#include "support/recipe_runs.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir{"pipeline"};
  Fixture() { testing::write_idx_dataset(dir / "data/mnist", 300, 100, true); }

  pipeline::RunResult run(const std::string& out, std::vector<std::string> overrides = {}) {
    std::ofstream(dir / "r.yaml") << "seed: 1\n"
                                     "dataset: {name: mnist, root: '" + (dir / "data").string() + "', validation: 50}\n"
                                     "head: {name: softmax, epochs: 6, lr: 0.05, batch: 25}\n"
                                     "stages: [train, evaluate, plot, save]\n";
    return testing::run_file(dir / "r.yaml", dir / out, overrides);
  }

  json read_json(const std::string& file) { return testing::read_json(dir / file); }

  std::vector<double> metric_values(const std::string& out) {
    std::vector<double> values;
    std::ifstream in(dir / out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) values.push_back(json::parse(line)["value"].get<double>());
    return values;
  }
};

}  // namespace

TEST_CASE("a run writes the whole run folder and learns the toy problem", "[pipeline][e2e]") {
  Fixture f;
  const auto result = f.run("run");
  REQUIRE(result.status == run::RunStatus::Completed);
  CHECK(result.exit_code == 0);
  for (const char* file : {"recipe.resolved.yaml", "manifest.json", "metrics.jsonl", "summary.json", "log.txt",
                           "artifacts/head_weight.npy", "artifacts/head_bias.npy", "artifacts/samples.png",
                           "artifacts/curves_head.png"})
    CHECK(std::filesystem::exists(f.dir / "run" / file));

  const auto summary = f.read_json("run/summary.json");
  CHECK(summary["status"] == "completed");
  CHECK(summary["test_accuracy"].get<double>() > 0.9);
  CHECK(summary["test_error"].get<double>() == Approx(1 - summary["test_accuracy"].get<double>()));
  CHECK(summary.contains("val_accuracy"));
  CHECK(summary["data"]["train"] == 250);
  CHECK(summary["data"]["validation"] == 50);

  const auto manifest = f.read_json("run/manifest.json");
  CHECK(manifest["status"] == "completed");
  CHECK(manifest["threads"] == 1);
  CHECK(manifest["seed"] == 1);
  CHECK(manifest["device"] == "cpu");
  CHECK(manifest["libtorch_version"].get<std::string>().rfind("1.", 0) == 0);
  CHECK(manifest["plugins"].size() == 2);
  CHECK(manifest["plugins"][1]["sha256"].get<std::string>().size() == 64);
  CHECK_FALSE(manifest["ended"].is_null());

  std::ifstream metrics(f.dir / "run/metrics.jsonl");
  std::string first;
  std::getline(metrics, first);
  const auto record = json::parse(first);
  for (const char* key : {"stage", "scope", "epoch", "step", "name", "value", "seconds"}) CHECK(record.contains(key));
}

TEST_CASE("same recipe, seed and threads give the same numbers", "[pipeline][determinism]") {
  Fixture f;
  REQUIRE(f.run("a").status == run::RunStatus::Completed);
  REQUIRE(f.run("b").status == run::RunStatus::Completed);
  REQUIRE(f.run("c", {"seed=2"}).status == run::RunStatus::Completed);
  const auto a = f.metric_values("a"), b = f.metric_values("b"), c = f.metric_values("c");
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("an interrupted run says so and keeps what it finished", "[pipeline][interrupt]") {
  Fixture f;
  const testing::ScopedInterrupt interrupt;
  const auto result = f.run("stopped");
  CHECK(result.status == run::RunStatus::Interrupted);
  CHECK(result.exit_code == 130);
  const auto manifest = f.read_json("stopped/manifest.json");
  CHECK(manifest["status"] == "interrupted");
  CHECK_THAT(manifest["error"].get<std::string>(), Contains("interrupted"));
  const auto summary = f.read_json("stopped/summary.json");
  CHECK(summary["status"] == "interrupted");
  CHECK(summary["data"]["train"] == 250);  // the data stage had finished
}

TEST_CASE("a failing run records the error in its manifest", "[pipeline][errors]") {
  Fixture f;
  std::filesystem::remove_all(f.dir / "data/mnist");
  const auto result = f.run("failed");
  CHECK(result.status == run::RunStatus::Failed);
  CHECK(result.exit_code == 2);  // data files missing: the user's to fix, as a recipe is
  const auto manifest = f.read_json("failed/manifest.json");
  CHECK(manifest["status"] == "failed");
  CHECK_THAT(manifest["error"].get<std::string>(), Contains("train-images-idx3-ubyte: not found"));
  SECTION("a folder that holds a run is never overwritten") {
    CHECK_THROWS_WITH(f.run("failed"), Contains("already holds a run"));
  }
}

TEST_CASE("a folder holding files of the user's is never written into", "[pipeline][errors]") {
  Fixture f;
  std::filesystem::create_directories(f.dir / "mine");
  std::ofstream(f.dir / "mine/log.txt") << "my notes\n";
  CHECK_THROWS_WITH(f.run("mine"), Contains("exists and is not empty"));
  std::ifstream in(f.dir / "mine/log.txt");
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "my notes\n");
  CHECK_FALSE(std::filesystem::exists(f.dir / "mine/manifest.json"));
}

TEST_CASE("a write that fails fails the run and names the file", "[pipeline][errors]") {
  Fixture f;
  std::filesystem::remove_all(f.dir / "data/mnist");
  REQUIRE(f.run("full").status == run::RunStatus::Failed);
  testing::write_idx_dataset(f.dir / "data/mnist", 300, 100, true);
  // The disk is full for log.txt: the resumed run must fail, not complete without its log.
  std::filesystem::remove(f.dir / "full/log.txt");
  std::filesystem::create_symlink("/dev/full", f.dir / "full/log.txt");
  auto options = testing::quiet_options(f.dir / "full");
  options.resume = true;
  const auto result = pipeline::execute(testing::resolve_file(f.dir / "full/recipe.resolved.yaml"), options);
  CHECK(result.status == run::RunStatus::Failed);
  CHECK_THAT(result.error, Contains("full/log.txt: write failed: No space left on device"));
  CHECK(f.read_json("full/manifest.json")["status"] == "failed");
}

TEST_CASE("a metric that cannot be written is an error naming the file", "[pipeline][errors]") {
  TempDir dir("metrics_full");
  std::ofstream(dir / "manifest.json") << "{}\n";
  std::filesystem::create_symlink("/dev/full", dir / "metrics.jsonl");
  run::RunStore store(dir.path(), run::RunStore::Open::Resume);
  CHECK_THROWS_WITH(store.append_metric({{"name", "loss"}, {"value", 1.0}}),
                    Contains("metrics.jsonl: write failed: No space left on device"));
}

TEST_CASE("a validation split larger than the data is a recipe error", "[pipeline][errors]") {
  Fixture f;
  const auto result = f.run("big", {"dataset.validation=5000"});
  CHECK(result.exit_code == 2);
  CHECK_THAT(f.read_json("big/manifest.json")["error"].get<std::string>(),
             Contains("5000 validation samples leave none of the 300"));
}

TEST_CASE("evaluate scores the train and validation splits from the features the head trained on", "[pipeline]") {
  Fixture f;
  const std::vector<std::string> stack = {"dataset.preprocess=[flatten, center, unit_norm]",
                                          "layers=[{rule: {name: krotov, hidden: 30, k: 3, epochs: 2}}]"};
  REQUIRE(f.run("run", stack).status == run::RunStatus::Completed);
  std::ifstream log(f.dir / "run/log.txt");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains("train split: scored from the features the head was trained on") &&
                       Contains("val split: scored from the features the head was trained on"));
  // Reopened, evaluate passes every image through the stack again: the same scores.
  REQUIRE(testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate").status == run::RunStatus::Completed);
  const auto first = f.read_json("run/summary.json"), again = f.read_json("again/summary.json");
  for (const char* key : {"train_accuracy", "val_accuracy", "test_accuracy"}) {
    CAPTURE(key);
    CHECK(first[key] == again[key]);
  }
}
