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
using nlohmann::json;

namespace {

struct KrotovFixture {
  TempDir dir{"krotov"};
  KrotovFixture() {
    testing::write_idx_dataset(dir / "data/mnist", 300, 100, false);
    std::ofstream(dir / "k.yaml")
        << "seed: 0\n"
           "dataset: {name: mnist, root: '" + (dir / "data").string() + "', preprocess: [flatten, center, unit_norm]}\n"
           "layers:\n"
           "  - rule: {name: krotov, hidden: 40, p: 3, k: 3, delta: 0.4, eps0: 0.04, epochs: 4, batch: 20}\n"
           "head: {name: krotov, n: 3, m: 6, beta: 0.1, epochs: 15, batch: 20, lr: 0.05}\n"
           "stages: [train, evaluate, plot, save]\n";
  }
  recipe::Recipe resolve(const std::vector<std::string>& overrides = {}) {
    return testing::resolve_file(dir / "k.yaml", overrides);
  }
  pipeline::RunResult run(const std::string& out, const std::vector<std::string>& overrides = {}) {
    return testing::run_file(dir / "k.yaml", dir / out, overrides);
  }
  json read_json(const std::string& file) { return testing::read_json(dir / file); }
};

}  // namespace

TEST_CASE("a Krotov-Hopfield layer with the paper's head learns the toy problem", "[krotov][e2e]") {
  KrotovFixture f;
  const auto result = f.run("run");
  REQUIRE(result.status == run::RunStatus::Completed);
  const auto summary = f.read_json("run/summary.json");
  CHECK(summary["test_accuracy"].get<double>() > 0.8);
  CHECK(std::filesystem::exists(f.dir / "run/artifacts/krotov_weights.png"));
  CHECK(std::filesystem::exists(f.dir / "run/artifacts/curves_layers_0.png"));
  const auto weights = io::load_npy(f.dir / "run/artifacts/layer0_weights.npy");
  CHECK(weights.sizes() == torch::IntArrayRef{40, 784});
  CHECK(io::load_npy(f.dir / "run/artifacts/head_S.npy").sizes() == torch::IntArrayRef{10, 40});

  std::ifstream metrics(f.dir / "run/metrics.jsonl");
  int convergence_records = 0;
  for (std::string line; std::getline(metrics, line);)
    convergence_records += json::parse(line)["name"] == "convergence";
  CHECK(convergence_records == 4);

  // Both follow-ups reuse this one trained run (SECTIONs would train it once per section).
  const auto file = (f.dir / "run/artifacts/layer0_weights.npy").string();
  INFO("saved synapses seed another recipe (init: npy)");
  const auto again = f.run("again", {"layers.0.rule.init=npy", "layers.0.rule.init_file=" + file,
                                     "layers.0.rule.epochs=0"});
  REQUIRE(again.status == run::RunStatus::Completed);
  CHECK(torch::equal(io::load_npy(f.dir / "again/artifacts/layer0_weights.npy"), weights));

  INFO("an init file of the wrong shape is refused by name");
  const auto bad = f.run("bad", {"layers.0.rule.init=npy", "layers.0.rule.init_file=" + file,
                                 "layers.0.rule.hidden=41"});
  CHECK(bad.status == run::RunStatus::Failed);
  CHECK_THAT(f.read_json("bad/manifest.json")["error"].get<std::string>(),
             Contains("layer0_weights.npy: init_file holds a 40x784 tensor, the layer needs 41x784"));
}

TEST_CASE("a fixed tiny Krotov recipe gives bit-identical summaries and synapses run after run", "[krotov][determinism]") {
  // The rule is chaotic (a winner flips on the last bit), so this holds only if nothing in
  // the run depends on timing: thread scheduling, uninitialised memory, reduction order.
  KrotovFixture f;
  const auto twice = [&](const std::string& out) {
    auto options = testing::quiet_options(f.dir / out);
    options.threads = 2;
    return pipeline::execute(f.resolve({"layers.0.rule.epochs=6", "stages=[train, evaluate, save]"}), options);
  };
  REQUIRE(twice("a").status == run::RunStatus::Completed);
  REQUIRE(twice("b").status == run::RunStatus::Completed);
  const auto without_times = [&](const std::string& out) {
    auto summary = f.read_json(out + "/summary.json");
    summary.erase("seconds");
    summary.erase("peak_rss_mib");
    return summary;
  };
  CHECK(without_times("a") == without_times("b"));
  CHECK(torch::equal(io::load_npy(f.dir / "a/artifacts/layer0_weights.npy"),
                     io::load_npy(f.dir / "b/artifacts/layer0_weights.npy")));
  CHECK(torch::equal(io::load_npy(f.dir / "a/artifacts/head_S.npy"), io::load_npy(f.dir / "b/artifacts/head_S.npy")));
  const auto values = [&](const std::string& out) {
    std::vector<double> v;
    std::ifstream in(f.dir / out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) v.push_back(json::parse(line)["value"].get<double>());
    return v;
  };
  CHECK(values("a") == values("b"));
}

TEST_CASE("Krotov parameters are checked together before running", "[krotov][errors]") {
  KrotovFixture f;
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.k=41"}),
                    Contains("--set layers.0.rule.k=41: layers.0.rule.k: k = 41 must not exceed hidden = 40"));
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.p=1.5"}), Contains("layers.0.rule.p: 1.5 is out of range [2, inf]"));
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.init=npy"}), Contains("init: npy needs init_file"));
  CHECK_THROWS_WITH(f.resolve({"layers.0.rule.init=gauss"}), Contains("'gauss' is not one of: normal, uniform, npy"));
}

TEST_CASE("a diverging head stops the run with a message, not a garbage result", "[krotov][errors]") {
  KrotovFixture f;
  // Raw pixels and a huge power overflow relu(Wv)^n: the head must refuse to go on.
  const auto result = f.run("nan", {"dataset.preprocess=[flatten]", "head.n=100"});
  CHECK(result.status == run::RunStatus::Failed);
  CHECK(result.exit_code == 1);
  const auto error = f.read_json("nan/manifest.json")["error"].get<std::string>();
  CHECK_THAT(error, Contains("krotov head loss at epoch 0 is nan: training diverged; relu(x)^100 overflows unless the inputs are "
                            "centred and unit-normalised"));
  CHECK_FALSE(f.read_json("nan/summary.json").contains("test_accuracy"));
}

TEST_CASE("a stacked Krotov layer with unit_norm_inputs settles on the layer below and reopens exactly", "[krotov][e2e]") {
  KrotovFixture f;
  std::ofstream(f.dir / "stack.yaml")
      << "extends: k.yaml\n"
         "layers:\n"
         "  - rule: {name: krotov, hidden: 40, p: 3, k: 3, delta: 0.4, eps0: 0.04, epochs: 4, batch: 20}\n"
         "  - rule: {name: krotov, hidden: 30, p: 3, k: 3, delta: 0.4, eps0: 0.04, epochs: 6, batch: 20,\n"
         "           unit_norm_inputs: true, sigma: 0.3, inhibitory: 0.25}\n";
  const auto result = testing::run_file(f.dir / "stack.yaml", f.dir / "stack");
  REQUIRE(result.status == run::RunStatus::Completed);
  const auto w = io::load_npy(f.dir / "stack/artifacts/layer1_weights.npy");
  REQUIRE(w.sizes() == torch::IntArrayRef{30, 40});
  const auto signs = io::load_npy(f.dir / "stack/artifacts/layer1_input_signs.npy");
  CHECK(signs.lt(0).sum().item<int>() == 10);
  CHECK((w * signs.view({1, -1})).min().item<double>() >= 0);
  const auto reopened = testing::reopen_run(f.dir / "stack", f.dir / "stack_again", "[evaluate]");
  REQUIRE(reopened.status == run::RunStatus::Completed);
  CHECK(f.read_json("stack_again/summary.json")["test_accuracy"] == f.read_json("stack/summary.json")["test_accuracy"]);
  CHECK(f.read_json("stack/summary.json")["test_accuracy"].get<double>() > 0.5);
}
