#include <fstream>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "model/model_store.hpp"
#include "pipeline/lifecycle.hpp"
#include "support/recipe_runs.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct ReopenFixture {
  TempDir dir{"reopen"};
  ReopenFixture() { testing::write_idx_dataset(dir / "data/mnist", 300, 100, false); }

  std::filesystem::path recipe(const std::string& name, const std::string& body) {
    const auto file = dir / (name + ".yaml");
    std::ofstream(file) << "seed: 0\ndataset: {name: mnist, root: '" + (dir / "data").string() + "', " + body;
    return file;
  }
};

const char* krotov_body =
    "validation: 50, preprocess: [flatten, center, unit_norm]}\n"
    "layers: [{rule: {name: krotov, hidden: 30, k: 3, epochs: 3, batch: 25}}]\n"
    "head: {name: krotov, n: 3, beta: 0.1, epochs: 5, batch: 25, lr: 0.05}\n"
    "stages: [train, {evaluate: {save_logits: true}}]\n";
const char* ff_body =
    "preprocess: [flatten]}\n"
    "layers: [{rule: {name: forward_forward, sizes: [40, 30], epochs: 3, batch: 100, output: all}}]\n"
    "head: {name: ff_goodness}\n"
    "stages: [train, {evaluate: {save_logits: true}}]\n";
const char* cnn_body =
    "preprocess: []}\n"
    "layers: [{rule: {name: backprop, model: simple_cnn, dropout: 0.5, epochs: 2, batch: 50}}]\n"
    "head: {name: readout}\n"
    "stages: [train, {evaluate: {save_logits: true}}]\n";
const char* control_body =
    "validation: 50, preprocess: [flatten]}\n"
    "layers: [{rule: {name: backprop, model: control, epochs: 2, batch: 50, optimizer: sgd, lr: 0.1}}]\n"
    "head: {name: readout}\n"
    "stages: [train, {evaluate: {save_logits: true}}]\n";
const char* softmax_body =
    "preprocess: [standardize, flatten]}\n"
    "head: {name: softmax, epochs: 3, lr: 0.05}\n"
    "stages: [train, {evaluate: {save_logits: true}}]\n";

}  // namespace

TEST_CASE("a reopened run gives exactly the original logits and accuracies", "[model][reopen]") {
  ReopenFixture f;
  const auto [name, body] = GENERATE(table<std::string, std::string>(
      {{"krotov", krotov_body}, {"forward_forward", ff_body}, {"softmax_standardize", softmax_body},
       {"backprop_simple_cnn", cnn_body}, {"backprop_control", control_body}}));
  CAPTURE(name);
  const auto file = f.recipe(name, body);
  REQUIRE(testing::run_file(file, f.dir / "first").status == run::RunStatus::Completed);
  const auto reopened = testing::reopen_run(f.dir / "first", f.dir / "again", "{evaluate: {save_logits: true}}");
  REQUIRE(reopened.status == run::RunStatus::Completed);

  const auto first = testing::read_json(f.dir / "first/summary.json");
  const auto again = testing::read_json(f.dir / "again/summary.json");
  for (const char* key : {"train_accuracy", "test_accuracy"}) CHECK(first[key] == again[key]);
  CHECK(again["parent"].get<std::string>().find("first") != std::string::npos);
  for (const char* split : {"train", "test"}) {
    const auto a = io::load_npy(f.dir / "first/artifacts" / fmt::format("logits_{}.npy", split));
    const auto b = io::load_npy(f.dir / "again/artifacts" / fmt::format("logits_{}.npy", split));
    CHECK(torch::equal(a, b));
  }
  CHECK(testing::read_json(f.dir / "again/manifest.json")["parent"] == again["parent"]);
}

TEST_CASE("a model folder refuses a recipe that does not match it", "[model][reopen][errors]") {
  ReopenFixture f;
  const auto file = f.recipe("k", krotov_body);
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  SECTION("another rule at the same place") {
    auto other = testing::resolve_file(f.recipe("ff", "preprocess: [flatten, center, unit_norm]}\n"
                                                      "layers: [{rule: {name: forward_forward, sizes: [10], output: all}}]\n"
                                                      "head: {name: ff_goodness}\n"));
    Model model = model::build(other);
    CHECK_THROWS_WITH(model::load(model, other, f.dir / "run/model", torch::kCPU, false),
                      Contains("layers.0.rule was saved by plugin 'krotov', but the recipe names 'forward_forward'"));
  }
  SECTION("a missing tensor file is named") {
    std::filesystem::remove(f.dir / "run/model/head_S.npy");
    auto recipe = testing::resolve_file(file);
    Model model = model::build(recipe);
    CHECK_THROWS_WITH(model::load(model, recipe, f.dir / "run/model", torch::kCPU, false), Contains("head_S.npy"));
  }
  SECTION("training stages are refused on a reopened model") {
    CHECK_THROWS_WITH(testing::reopen_run(f.dir / "run", f.dir / "again", "train,evaluate"),
                      Contains("stages.0: 'train' cannot run on a reopened model"));
  }
}

TEST_CASE("the train stage saves a checkpoint after every layer", "[model][checkpoint]") {
  ReopenFixture f;
  const auto file = f.recipe("two", "preprocess: [flatten, center, unit_norm]}\n"
                                    "layers: [{rule: {name: krotov, hidden: 30, k: 3, epochs: 2}},\n"
                                    "         {rule: {name: krotov, hidden: 20, k: 3, epochs: 2}}]\n"
                                    "head: {name: softmax, epochs: 2}\n");
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  const auto saved = testing::read_json(f.dir / "run/model/model.json");
  CHECK(saved["layers_trained"] == 2);
  CHECK(saved["head_trained"] == true);
  CHECK(saved["layers"][1]["plugin"] == "krotov");
  CHECK(io::load_npy(f.dir / "run/model/layer1_weights.npy").sizes() == torch::IntArrayRef{20, 30});
  CHECK(std::filesystem::exists(f.dir / "run/model/rng_state.npy"));
}

TEST_CASE("a recipe reuses the trained layers of another run", "[model][reuse]") {
  ReopenFixture f;
  const std::string data = "validation: 50, preprocess: [flatten, center, unit_norm]}\n";
  const std::string two_layers = "layers: [{rule: {name: krotov, hidden: 30, k: 3, epochs: 2}},\n"
                                 "         {rule: {name: krotov, hidden: 20, k: 3, epochs: 2}}]\n";
  REQUIRE(testing::run_file(f.recipe("parent", data + two_layers + "head: {name: softmax, epochs: 2}\n"),
                            f.dir / "parent")
              .status == run::RunStatus::Completed);
  const std::string reuse = "reuse: {run: '" + (f.dir / "parent").string() + "', layers: 1}\n";

  SECTION("the layers reused are the run's, those above train, and a resume needs nothing else") {
    const auto file = f.recipe("child", data + two_layers + reuse + "head: {name: softmax, epochs: 3, lr: 0.01}\n");
    REQUIRE(testing::run_file(file, f.dir / "child").status == run::RunStatus::Completed);
    CHECK(torch::equal(io::load_npy(f.dir / "parent/model/layer0_weights.npy"),
                       io::load_npy(f.dir / "child/model/layer0_weights.npy")));
    const auto saved = testing::read_json(f.dir / "child/model/model.json");
    CHECK(saved["layers_trained"] == 2);
    CHECK(io::load_npy(f.dir / "child/model/layer1_weights.npy").sizes() == torch::IntArrayRef{20, 30});
    const auto summary = testing::read_json(f.dir / "child/summary.json");
    CHECK(summary["reused"]["layers"] == 1);
    CHECK(summary["reused"]["run"].get<std::string>().find("parent") != std::string::npos);
    CHECK(testing::read_json(f.dir / "child/manifest.json")["reused"] == summary["reused"]);
    std::ifstream log(f.dir / "child/log.txt");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Contains("(reuse), not trained again"));
    CHECK(text.find("training with rule 'krotov'") != std::string::npos);  // layer 1 trains

    // The child's own model/ holds everything: it reopens with the run it reused gone.
    std::filesystem::rename(f.dir / "parent", f.dir / "gone");
    CHECK(testing::reopen_run(f.dir / "child", f.dir / "again", "evaluate").status == run::RunStatus::Completed);
  }
  SECTION("with the run's seed, the layers above and the head get exactly the full run's numbers") {
    const auto file = f.recipe("same", data + two_layers + reuse + "head: {name: softmax, epochs: 2}\n");
    REQUIRE(testing::run_file(file, f.dir / "same").status == run::RunStatus::Completed);
    for (const char* tensor : {"layer1_weights.npy", "head_weight.npy", "head_bias.npy"})
      CHECK(torch::equal(io::load_npy(f.dir / "parent/model" / tensor), io::load_npy(f.dir / "same/model" / tensor)));
    const auto a = testing::read_json(f.dir / "parent/summary.json");
    const auto b = testing::read_json(f.dir / "same/summary.json");
    for (const char* key : {"train_accuracy", "val_accuracy", "test_accuracy"}) CHECK(a[key] == b[key]);
  }
  SECTION("the top layer reused may read out differently: exactly what a full run of the recipe gets") {
    // n, the output power, shapes what layer 0 passes on, not what it learns.
    const std::string head = "depth: 1\nhead: {name: softmax, epochs: 2}\n";
    REQUIRE(testing::run_file(f.recipe("full", data + two_layers + head), f.dir / "full", {"layers.0.rule.n=2"})
                .status == run::RunStatus::Completed);
    REQUIRE(testing::run_file(f.recipe("reads", data + two_layers + reuse + head), f.dir / "reads",
                              {"layers.0.rule.n=2"})
                .status == run::RunStatus::Completed);
    for (const char* tensor : {"layer0_weights.npy", "head_weight.npy", "head_bias.npy"})
      CHECK(torch::equal(io::load_npy(f.dir / "full/model" / tensor), io::load_npy(f.dir / "reads/model" / tensor)));
    const auto a = testing::read_json(f.dir / "full/summary.json");
    const auto b = testing::read_json(f.dir / "reads/summary.json");
    for (const char* key : {"train_accuracy", "val_accuracy", "test_accuracy"}) CHECK(a[key] == b[key]);
    // ... and the readout took: the same head on the layer's own output learns other weights.
    REQUIRE(testing::run_file(f.recipe("plain", data + two_layers + reuse + head), f.dir / "plain").status ==
            run::RunStatus::Completed);
    CHECK_FALSE(torch::equal(io::load_npy(f.dir / "plain/model/head_weight.npy"),
                             io::load_npy(f.dir / "reads/model/head_weight.npy")));
    CHECK(b["reused"]["readouts_changed"] == json::array({"layers.0.rule.n: 2 here, 1 in the run reused"}));
    std::ifstream log(f.dir / "reads/log.txt");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Contains("reads the top layer reused out differently: layers.0.rule.n: 2 here, 1 in the run "
                              "reused"));
  }
  SECTION("layers: 0 takes every layer the run trained, up to depth") {
    const auto file = f.recipe("head_only", data + two_layers + "depth: 1\nreuse: {run: '" +
                                                (f.dir / "parent").string() + "'}\nhead: {name: softmax, epochs: 2}\n");
    const auto recipe = testing::resolve_file(file);
    REQUIRE(recipe.reuse);
    CHECK(recipe.reuse->layers == 1);
    REQUIRE(testing::run_file(file, f.dir / "head_only").status == run::RunStatus::Completed);
    CHECK(torch::equal(io::load_npy(f.dir / "parent/model/layer0_weights.npy"),
                       io::load_npy(f.dir / "head_only/model/layer0_weights.npy")));
  }
  SECTION("another layer, other data or a missing run is an error naming the key") {
    const auto check = [&](const std::string& body, const std::string& message,
                           const std::vector<std::string>& overrides = {}) {
      CHECK_THROWS_WITH(testing::resolve_file(f.recipe("bad", body), overrides), Contains(message));
    };
    check(data + "layers: [{rule: {name: krotov, hidden: 31, k: 3, epochs: 2}}]\n" + reuse +
              "head: {name: softmax}\n",
          "layers.0.rule.hidden: 31 here, 30 in the run reused");
    check("validation: 60, preprocess: [flatten, center, unit_norm]}\n" + two_layers + reuse + "head: {name: softmax}\n",
          "dataset.validation: 60 here, 50 in the run reused");
    check(data + two_layers + reuse + "head: {name: softmax}\n", "seed: 1 here, 0 in the run reused", {"seed=1"});
    const std::string reuse_both = "reuse: {run: '" + (f.dir / "parent").string() + "', layers: 2}\n";
    check(data + two_layers + reuse_both + "head: {name: softmax}\n",
          "layers.0.rule.n: 2 here, 1 in the run reused (reuse.run = " + (f.dir / "parent").string() +
              "); a readout key may differ only on the top layer reused",
          {"layers.0.rule.n=2"});
    check(data + two_layers + "reuse: {run: '" + (f.dir / "parent").string() + "', layers: 3}\n" +
              "head: {name: softmax}\n",
          "reuse.layers: 3 layers to reuse, but the recipe builds 2");
    check(data + two_layers + "reuse: {run: '" + (f.dir / "nowhere").string() + "'}\nhead: {name: softmax}\n",
          "reuse.run: no such run folder");
    check(data + two_layers + "reuse: {layers: 1}\nhead: {name: softmax}\n", "reuse.run");
  }
}

TEST_CASE("a model that holds less than its recipe builds is refused on every reopen, naming what is missing",
          "[model][reopen][errors]") {
  ReopenFixture f;
  const auto file = f.recipe("two", "validation: 50, preprocess: [flatten, center, unit_norm]}\n"
                                    "layers: [{rule: {name: krotov, hidden: 30, k: 3, epochs: 1}},\n"
                                    "         {rule: {name: krotov, hidden: 20, k: 3, epochs: 1}}]\n"
                                    "head: {name: softmax, epochs: 1}\nstages: [train, evaluate]\n");
  SECTION("evaluate with a deeper recipe than the model was trained with") {
    REQUIRE(testing::run_file(file, f.dir / "one", {"depth=1"}).status == run::RunStatus::Completed);
    const auto again = testing::reopen_run(f.dir / "one", f.dir / "deeper", "evaluate", {"depth=2"});
    CHECK(again.status == run::RunStatus::Failed);
    CHECK_THAT(again.error, Contains("holds 1 trained layer") && Contains("the recipe builds 2"));
    CHECK(testing::read_json(f.dir / "deeper/manifest.json")["status"] == "failed");
  }
  SECTION("a model.json that lists no layers under a trained head") {
    REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
    auto saved = testing::read_json(f.dir / "run/model/model.json");
    saved["layers"] = json::array();
    saved["layers_trained"] = 0;
    std::ofstream(f.dir / "run/model/model.json") << saved.dump();
    const auto again = testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate");
    CHECK(again.status == run::RunStatus::Failed);
    CHECK_THAT(again.error, Contains("model.json") && Contains("0 trained layer") && Contains("the recipe builds 2"));
  }
  SECTION("a resume whose summary says train finished but whose model is gone") {
    REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
    auto manifest = testing::read_json(f.dir / "run/manifest.json");
    manifest["status"] = "interrupted";
    std::ofstream(f.dir / "run/manifest.json") << manifest.dump();
    auto summary = testing::read_json(f.dir / "run/summary.json");
    summary["status"] = "interrupted";
    summary["stages_done"] = json::array({"train"});
    std::ofstream(f.dir / "run/summary.json") << summary.dump();
    std::filesystem::remove(f.dir / "run/model/model.json");
    auto options = testing::quiet_options({});
    const auto resumed = pipeline::resume_run(f.dir / "run", {}, options);
    CHECK(resumed.status == run::RunStatus::Failed);
    CHECK_THAT(resumed.error, Contains("evaluate needs the trained model") && Contains("model.json"));
  }
}

TEST_CASE("a resume refuses a recipe.resolved.yaml edited since the checkpoint, naming the keys", "[model][errors]") {
  ReopenFixture f;
  const auto file = f.recipe("one", "validation: 50, preprocess: [flatten, center, unit_norm]}\n"
                                    "layers: [{rule: {name: krotov, hidden: 30, k: 3, epochs: 1}}]\n"
                                    "head: {name: softmax, epochs: 1}\nstages: [train, evaluate]\n");
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  CHECK(testing::read_json(f.dir / "run/model/model.json")["trained_with"]["values"]["layers.0.rule.epochs"] == "1");
  // As if stopped before evaluate: train is redone from model/, which is complete.
  for (const char* name : {"manifest.json", "summary.json"}) {
    auto record = testing::read_json(f.dir / "run" / name);
    record["status"] = "interrupted";
    if (record.contains("stages_done")) record["stages_done"] = json::array();
    std::ofstream(f.dir / "run" / name) << record.dump();
  }
  const auto resolved = f.dir / "run/recipe.resolved.yaml";
  const auto original = recipe::load(resolved);
  const std::string edited = recipe::to_yaml(recipe::load(resolved, {"layers.0.rule.epochs=5", "seed=7"}).root);
  std::ofstream(resolved) << edited;
  const auto refused = pipeline::resume_run(f.dir / "run", {}, testing::quiet_options({}));
  CHECK(refused.status == run::RunStatus::Failed);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.error, Contains("model.json: the checkpoint was trained with another recipe") &&
                                Contains("layers.0.rule.epochs: 5 now, 1 in the checkpoint") &&
                                Contains("seed: 7 now, 0 in the checkpoint"));
  // The run's own values put back, it resumes and completes.
  std::ofstream(resolved) << recipe::to_yaml(original.root);
  const auto summary = f.dir / "run/summary.json";
  const std::string kept = testing::read_json(summary).dump();
  std::ofstream(summary) << "{\"status\": ";  // damaged: refused, not silently started over
  CHECK_THROWS_WITH(pipeline::resume_run(f.dir / "run", {}, testing::quiet_options({})),
                    Contains("summary.json") && Contains("delete summary.json to resume from model/ alone"));
  std::ofstream(summary) << kept;
  CHECK(pipeline::resume_run(f.dir / "run", {}, testing::quiet_options({})).status == run::RunStatus::Completed);
}

TEST_CASE("saved weights of the wrong shape or class count are refused naming the file and both shapes",
          "[model][reopen][errors]") {
  ReopenFixture f;
  const auto file = f.recipe("k", krotov_body);
  REQUIRE(testing::run_file(file, f.dir / "run").status == run::RunStatus::Completed);
  const auto weights = io::load_npy(f.dir / "run/model/layer0_weights.npy");  // 30 x 784
  SECTION("a layer's weights of another shape") {
    io::save_npy(f.dir / "run/model/layer0_weights.npy", weights.narrow(1, 0, 100).contiguous());
    const auto again = testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate");
    CHECK(again.status == run::RunStatus::Failed);
    CHECK_THAT(again.error, Contains("layer0_weights.npy") && Contains("30x100") && Contains("30x784"));
  }
  SECTION("a head for fewer classes than the data has") {
    const auto head = io::load_npy(f.dir / "run/model/head_S.npy");
    io::save_npy(f.dir / "run/model/head_S.npy", head.narrow(0, 0, 5).contiguous());
    const auto again = testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate");
    CHECK(again.status == run::RunStatus::Failed);
    CHECK_THAT(again.error, Contains("head_S.npy") && Contains("holds a 5x"));
  }
  SECTION("a model from before shapes were recorded: the evaluation names the class counts") {
    auto saved = testing::read_json(f.dir / "run/model/model.json");
    saved["head"].erase("shapes");
    std::ofstream(f.dir / "run/model/model.json") << saved.dump();
    const auto head = io::load_npy(f.dir / "run/model/head_S.npy");
    io::save_npy(f.dir / "run/model/head_S.npy", head.narrow(0, 0, 5).contiguous());
    const auto again = testing::reopen_run(f.dir / "run", f.dir / "again", "evaluate");
    CHECK(again.status == run::RunStatus::Failed);
    CHECK_THAT(again.error, Contains("the model gives 5 scores per image, but mnist has 10 classes"));
    CHECK(again.error.find("Exception raised from") == std::string::npos);
  }
}

TEST_CASE("a resume that would read other data than the run did is refused, naming both", "[model][errors]") {
  testing::TempDir dir("resume_data");
  testing::write_idx_dataset(dir / "a/mnist", 300, 100, false);
  testing::write_idx_dataset(dir / "b/mnist", 200, 100, false);
  std::ofstream(dir / "r.yaml") << "seed: 0\ndataset: {name: mnist, validation: 50, preprocess: [flatten]}\n"
                                   "head: {name: softmax, epochs: 1}\nstages: [train, evaluate]\n";
  struct DataRoot {  // HEBBKIT_DATA for this scope
    explicit DataRoot(const std::filesystem::path& root) { ::setenv("HEBBKIT_DATA", root.c_str(), 1); }
    ~DataRoot() { ::unsetenv("HEBBKIT_DATA"); }
  };
  {
    DataRoot root(dir / "a");
    REQUIRE(testing::run_file(dir / "r.yaml", dir / "run").status == run::RunStatus::Completed);
  }
  for (const char* name : {"manifest.json", "summary.json"}) {
    auto record = testing::read_json(dir / "run" / name);
    record["status"] = "interrupted";
    if (record.contains("stages_done")) record["stages_done"] = json::array();
    std::ofstream(dir / "run" / name) << record.dump();
  }
  DataRoot other(dir / "b");
  const auto refused = pipeline::resume_run(dir / "run", {}, testing::quiet_options({}));
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.error, Contains("the run read 250 train / 50 validation / 100 test images from " +
                                     (dir / "a").string()) &&
                                Contains("this resume reads 150 / 50 / 100 from " + (dir / "b").string() +
                                         " (HEBBKIT_DATA)"));
}

TEST_CASE("conv rules start from saved weights (init: npy) exactly, and refuse a file of another shape",
          "[model][init]") {
  ReopenFixture f;
  const auto kernels = torch::randn({4, 1, 3, 3});
  io::save_npy(f.dir / "start.npy", kernels);
  for (const std::string rule : {"softhebb", "krotov_conv"}) {
    CAPTURE(rule);
    const auto file = f.recipe(rule, "preprocess: []}\nlayers: [{rule: {name: " + rule +
                                         ", kernels: 4, kernel: 3, epochs: 0, init: npy, init_file: '" +
                                         (f.dir / "start.npy").string() + "'}}]\nhead: {name: softmax, epochs: 1}\n");
    REQUIRE(testing::run_file(file, f.dir / rule).status == run::RunStatus::Completed);
    CHECK(torch::equal(io::load_npy(f.dir / rule / "model/layer0_weights.npy"), kernels));  // no epoch: the start itself

    io::save_npy(f.dir / "wrong.npy", torch::randn({4, 1, 5, 5}));
    const auto wrong = testing::run_file(file, f.dir / (rule + "_wrong"), {"layers.0.rule.init_file=" + (f.dir / "wrong.npy").string()});
    CHECK(wrong.status == run::RunStatus::Failed);
    CHECK_THAT(wrong.error, Contains("wrong.npy: init_file holds a 4x1x5x5 tensor, the layer needs 4x1x3x3"));
    CHECK_THROWS_WITH(testing::resolve_file(file, {"layers.0.rule.init_file=" + (f.dir / "absent.npy").string()}),
                      Contains("layers.0.rule.init_file") && Contains("absent.npy: no such file"));
    CHECK_THROWS_WITH(testing::resolve_file(file, {"layers.0.rule.init=normal"}),
                      Contains("init_file is only read with init: npy"));
  }
}

TEST_CASE("Forward-Forward and backprop start from a run's saved layer (init_prefix) exactly", "[model][init]") {
  ReopenFixture f;
  // The first run's model/layer0_* files are the second run's start; with 0 epochs its layer is that start.
  const auto check = [&](const std::string& name, const std::string& body, const std::string& set_init,
                         const std::vector<std::string>& files) {
    CAPTURE(name);
    const auto file = f.recipe(name, body);
    REQUIRE(testing::run_file(file, f.dir / (name + "_a")).status == run::RunStatus::Completed);
    const std::string prefix = (f.dir / (name + "_a") / "model" / "layer0").string();
    std::vector<std::string> start = {"layers.0.rule.epochs=0", "layers.0.rule.init_prefix=" + prefix};
    if (!set_init.empty()) start.push_back(set_init);
    REQUIRE(testing::run_file(file, f.dir / (name + "_b"), start).status == run::RunStatus::Completed);
    for (const auto& tensor : files)
      CHECK(torch::equal(io::load_npy(f.dir / (name + "_a") / "model" / tensor),
                         io::load_npy(f.dir / (name + "_b") / "model" / tensor)));
    CHECK_THROWS_WITH(testing::resolve_file(file, {"layers.0.rule.init_prefix=" + (f.dir / "nothing").string(),
                                                   set_init.empty() ? "seed=0" : set_init}),
                      Contains("layers.0.rule.init_prefix") && Contains("no file nothing_*.npy"));
  };
  check("ff", "preprocess: [flatten]}\nlayers: [{rule: {name: forward_forward, sizes: [30, 20], epochs: 2, batch: 100}}]\n"
              "head: {name: ff_goodness}\n",
        "layers.0.rule.init=npy", {"layer0_ff0_weight.npy", "layer0_ff1_weight.npy", "layer0_ff1_bias.npy"});
  check("bp", "preprocess: [flatten]}\nlayers: [{rule: {name: backprop, model: control, epochs: 2, batch: 50}}]\n"
              "head: {name: readout}\n",
        "", {"layer0_1_running_mean.npy", "layer0_2_weight.npy"});
}
