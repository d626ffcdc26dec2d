#include <algorithm>
#include <fstream>

#include "support/catch.hpp"
#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/hebbkit.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"
#include "recipe/recipe.hpp"
#include "support/tiny_data.hpp"
#include "support/paths.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;

namespace {
std::filesystem::path write(const TempDir& dir, const std::string& name, const std::string& text) {
  const auto file = dir / name;
  std::ofstream(file) << text;
  return file;
}

const char* good_recipe = R"(schema: 1
seed: 3
dataset:
  name: mnist
  validation: 10
layers: []
head:
  name: softmax
  epochs: 2
stages: [train, evaluate]
)";

std::string resolve_error(const std::filesystem::path& file, const std::vector<std::string>& overrides = {}) {
  try {
    recipe::resolve(recipe::load(file, overrides), plugins::default_registry());
  } catch (const RecipeError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a valid recipe resolves with its plugins constructed", "[recipe]") {
  TempDir dir("recipe");
  const auto r = recipe::resolve(recipe::load(write(dir, "r.yaml", good_recipe)), plugins::default_registry());
  CHECK(r.seed == 3);
  CHECK(r.name == "r");
  CHECK(r.data.validation == 10);
  CHECK(r.data.preprocess == std::vector<std::string>{"flatten"});
  CHECK(r.head.plugin->manifest->name == "softmax");
  CHECK(r.head.params.has_value());
  CHECK(r.head.make<Head>() != nullptr);
  REQUIRE(r.stages.size() == 2);
  CHECK(r.stages[1].name() == "evaluate");
}

TEST_CASE("extends merges maps key by key and replaces lists whole", "[recipe]") {
  TempDir dir("extends");
  write(dir, "base.yaml", "seed: 1\nhead: {name: softmax, epochs: 5, lr: 0.5}\nstages: [train, evaluate, save]\n");
  const auto child = write(dir, "child.yaml", "extends: base.yaml\nhead: {epochs: 7}\nstages: [train]\n");
  const auto doc = recipe::load(child);
  CHECK(doc.root["seed"].as<int>() == 1);
  CHECK(doc.root["head"]["epochs"].as<int>() == 7);
  CHECK(doc.root["head"]["lr"].as<double>() == 0.5);
  CHECK(doc.root["stages"].size() == 1);
  CHECK_FALSE(doc.root["extends"]);
  CHECK(doc.chain.size() == 2);
  SECTION("origins point at the file that set each value") {
    CHECK_THAT(doc.where("head.epochs"), Contains("child.yaml:2"));
    CHECK_THAT(doc.where("head.lr"), Contains("base.yaml:2"));
  }
}

TEST_CASE("command-line overrides reach into maps and lists", "[recipe][override]") {
  TempDir dir("set");
  const auto file = write(dir, "r.yaml", "head: {name: softmax}\nlayers:\n  - rule: {name: x, p: 2}\n");
  auto doc = recipe::load(file, {"layers.0.rule.p=3", "head.epochs=4", "seed=9"});
  CHECK(doc.root["layers"][0]["rule"]["p"].as<int>() == 3);
  CHECK(doc.root["head"]["epochs"].as<int>() == 4);
  CHECK(doc.root["seed"].as<int>() == 9);
  CHECK(doc.where("layers.0.rule.p") == "--set layers.0.rule.p=3");
  SECTION("values are parsed as YAML") {
    recipe::apply_override(doc, "stages=[train, save]");
    CHECK(doc.root["stages"].size() == 2);
  }
  SECTION("bad override paths name the override") {
    CHECK_THROWS_WITH(recipe::apply_override(doc, "layers.3.rule.p=1"),
                      Contains("--set layers.3.rule.p=1") && Contains("index 3 is out of range") && Contains("1 entries"));
    CHECK_THROWS_WITH(recipe::apply_override(doc, "layers.x.rule=1"), Contains("expected an index"));
    CHECK_THROWS_WITH(recipe::apply_override(doc, "seed.deep=1"), Contains("holds a single value"));
    CHECK_THROWS_WITH(recipe::apply_override(doc, "seed"), Contains("expected KEY=VALUE"));
    CHECK_THROWS_WITH(recipe::apply_override(doc, "head..lr=1"), Contains("empty key"));
    CHECK_THROWS_WITH(recipe::apply_override(doc, "head.lr=[1, "), Contains("not valid YAML"));
  }
}

TEST_CASE("by_depth applies the settings of the depth in use, under --set", "[recipe][override]") {
  TempDir dir("by_depth");
  const auto file = write(dir, "r.yaml", R"(dataset: {name: mnist}
layers:
  - rule: {name: krotov, hidden: 20}
  - rule: {name: krotov, hidden: 10}
depth: 1
by_depth:
  1: {head.lr: 0.5}
  2: {head.lr: 0.25, layers.1.rule.p: 4}
head: {name: softmax, lr: 0.1}
)");
  const auto lr = [&](const std::vector<std::string>& overrides) {
    auto doc = recipe::load(file, overrides);
    return recipe::resolve(doc, plugins::default_registry()).head.params->real("lr");
  };
  CHECK(lr({}) == 0.5);
  CHECK(lr({"depth=2"}) == 0.25);
  CHECK(lr({"depth=0"}) == 0.25);  // every layer: the depth of the last one
  CHECK(lr({"depth=2", "head.lr=0.01"}) == 0.01);  // a --set wins
  const auto doc = recipe::load(file, {"depth=2"});
  CHECK(doc.root["layers"][1]["rule"]["p"].as<int>() == 4);
  CHECK_THAT(doc.where("head.lr"), Contains("r.yaml:8:") && Contains("(by_depth.2)"));
  CHECK(doc.overrides == std::vector<std::string>{"depth=2"});
  SECTION("a depth the recipe does not have, or a malformed entry, is an error naming it") {
    CHECK_THAT(resolve_error(file, {"by_depth.3={head.lr: 1}"}),
               Contains("by_depth.3: depth 3 but the recipe has 2 layer(s)"));
    CHECK_THAT(resolve_error(file, {"by_depth.x={head.lr: 1}"}), Contains("by_depth.x: 'x' is not a depth"));
    CHECK_THAT(resolve_error(file, {"by_depth.1=0.5"}), Contains("by_depth.1: expected the settings"));
    CHECK_THAT(resolve_error(file, {"by_depth.1={head.lr: -1}"}), Contains("(by_depth.1)") && Contains("head.lr"));
  }
}

TEST_CASE("recipe syntax and file errors name the file, line and column", "[recipe][errors]") {
  TempDir dir("syntax");
  CHECK_THROWS_WITH(recipe::load(write(dir, "bad.yaml", "seed: 1\nhead: {name: softmax\n")),
                    Contains("bad.yaml:") && Contains("YAML syntax error"));
  CHECK_THROWS_WITH(recipe::load(dir / "absent.yaml"), Contains("absent.yaml: recipe file not found"));
  CHECK_THROWS_WITH(recipe::load(write(dir, "child.yaml", "seed: 1\nextends: nowhere.yaml\n")),
                    Contains("child.yaml:2:1") && Contains("nowhere.yaml' not found"));
  write(dir, "a.yaml", "extends: b.yaml\n");
  CHECK_THROWS_WITH(recipe::load(write(dir, "b.yaml", "extends: a.yaml\n")), Contains("circular extends"));
  CHECK_THROWS_WITH(recipe::load(write(dir, "list.yaml", "- 1\n- 2\n")), Contains("must be a YAML map"));
}

TEST_CASE("YAML anchors, aliases and merge keys: each use is its own copy, and their size is bounded",
          "[recipe][override][errors]") {
  TempDir dir("aliases");
  SECTION("--set on one use of an anchor leaves the other alone") {
    const auto file = write(dir, "alias.yaml",
                            "layers: [{rule: &r {name: krotov, hidden: 30}}, {rule: *r}]\nhead: {name: softmax}\n");
    const auto doc = recipe::load(file, {"layers.0.rule.hidden=60"});
    CHECK(doc.root["layers"][0]["rule"]["hidden"].as<int>() == 60);
    CHECK(doc.root["layers"][1]["rule"]["hidden"].as<int>() == 30);
    CHECK(recipe::to_yaml(doc.root).find('&') == std::string::npos);  // no anchor survives into the resolved copy
  }
  SECTION("a merge key takes the keys the map does not set") {
    const auto file = write(dir, "merge.yaml",
                            "base: &b {name: softmax, epochs: 2, lr: 0.5}\n"
                            "head: {<<: *b, lr: 0.1}\n");
    const auto doc = recipe::load(file);
    CHECK(doc.root["head"]["name"].as<std::string>() == "softmax");
    CHECK(doc.root["head"]["epochs"].as<int>() == 2);
    CHECK(doc.root["head"]["lr"].as<double>() == 0.1);
    CHECK_FALSE(doc.root["head"]["<<"]);
    CHECK_THROWS_WITH(recipe::load(write(dir, "bad_merge.yaml", "head: {<<: 3}\n")),
                      Contains("bad_merge.yaml:1:") && Contains("merge key '<<' takes a map"));
  }
  SECTION("aliases inside aliases are refused before they expand") {
    std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i)
      bomb += fmt::format("a{1}: &a{1} [*a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}]\n",
                          i - 1, i);
    CHECK_THROWS_WITH(recipe::load(write(dir, "bomb.yaml", bomb)),
                      Contains("bomb.yaml: the recipe expands to more than 100000 YAML nodes"));
  }
  SECTION("extends: at a device or an oversized file is refused, not read without end") {
    CHECK_THROWS_WITH(recipe::load(write(dir, "dev.yaml", "extends: /dev/zero\n")),
                      Contains("dev.yaml:1:1") && Contains("/dev/zero' is not a regular file"));
    write(dir, "huge.yaml", "seed: 1\n" + std::string(2 << 20, '#') + "\n");
    CHECK_THROWS_WITH(recipe::load(write(dir, "big.yaml", "extends: huge.yaml\n")),
                      Contains("huge.yaml' is larger than 1 MiB"));
  }
}

TEST_CASE("every recipe mistake is reported with place and key path", "[recipe][errors]") {
  TempDir dir("mistakes");
  const auto file = write(dir, "r.yaml", good_recipe);

  SECTION("unknown key with a suggestion") {
    CHECK_THAT(resolve_error(file, {"head.epocs=3"}),
               Contains("--set head.epocs=3: head.epocs: unknown key 'epocs'") && Contains("did you mean 'epochs'?"));
    const auto typo = write(dir, "typo.yaml", std::string(good_recipe) + "sede: 1\n");
    CHECK_THAT(resolve_error(typo), Contains("typo.yaml:11:1: sede: unknown key 'sede'") && Contains("'seed'"));
  }
  SECTION("wrong type") {
    CHECK_THAT(resolve_error(file, {"head.epochs=many"}),
               Contains("head.epochs: expected an integer, got 'many'"));
    CHECK_THAT(resolve_error(file, {"head.lr=[1]"}), Contains("head.lr: expected a number, got a list"));
  }
  SECTION("out of range") {
    CHECK_THAT(resolve_error(file, {"head.epochs=0"}), Contains("head.epochs: 0 is out of range [1, inf]"));
    CHECK_THAT(resolve_error(file, {"schema=2"}), Contains("schema: 2 is out of range [1, 1]"));
  }
  SECTION("missing required keys") {
    const auto bare = write(dir, "bare.yaml", "seed: 1\n");
    const auto text = resolve_error(bare);
    CHECK_THAT(text, Contains("missing required key 'dataset'") && Contains("mnist"));
    CHECK_THAT(text, Contains("missing required key 'head'") && Contains("softmax"));
    CHECK_THAT(text, Contains("2 problems"));
  }
  SECTION("unknown plugin names list the available ones") {
    CHECK_THAT(resolve_error(file, {"head.name=sofmax"}),
               Contains("unknown head plugin 'sofmax'") && Contains("did you mean 'softmax'") &&
                   Contains("; available: ") && Contains(", softmax"));
    CHECK_THAT(resolve_error(file, {"head.name=mnist"}), Contains("('mnist' is a dataset plugin)"));
  }
  SECTION("stages") {
    CHECK_THAT(resolve_error(file, {"stages=[train, evalute]"}),
               Contains("stages.1: unknown stage 'evalute'") && Contains("did you mean 'evaluate'"));
    CHECK_THAT(resolve_error(file, {"stages=[evaluate]"}), Contains("first stage must be 'train'"));
  }
  SECTION("preprocessing steps") {
    CHECK_THAT(resolve_error(file, {"dataset.preprocess=[flatten, unitnorm]"}),
               Contains("dataset.preprocess.1: unknown preprocessing step 'unitnorm'") && Contains("unit_norm"));
  }
  SECTION("layers need a rule") {
    CHECK_THAT(resolve_error(file, {"layers=[{rul: {name: x}}]"}), Contains("layers.0: expected a map with key 'rule'"));
  }
}

TEST_CASE("every recipe in experiments/ resolves against the built plugins", "[recipe]") {
  // A renamed key or plugin must not leave a published recipe broken until someone runs it.
  const auto folder = hebbkit::testing::source_dir() / "experiments";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().filename().string());
    CHECK_NOTHROW(recipe::resolve(recipe::load(entry.path(), {}), plugins::default_registry()));
    ++count;
  }
  CHECK(count >= 20);
}

TEST_CASE("cifar10_hebbian_conv: the classifier's dropout per depth, the conv layers' triangle", "[recipe][override]") {
  const auto file = hebbkit::testing::source_dir() / "experiments/cifar10_hebbian_conv.yaml";
  const std::vector<double> dropout = {0.5, 0.5, 0.3, 0.25, 0.0};
  for (std::size_t depth = 1; depth <= dropout.size(); ++depth) {
    CAPTURE(depth);
    const auto r = recipe::resolve(recipe::load(file, {fmt::format("depth={}", depth)}), plugins::default_registry());
    CHECK(r.layers.size() == depth);
    CHECK(r.head.params->real("dropout") == dropout[depth - 1]);
    for (std::size_t i = 0; i < std::min<std::size_t>(depth, 4); ++i)  // the conv layers read out as SoftHebb's
      CHECK(r.layers[i].params->string("activation") == "triangle");
  }
}
