// Sweeps: the search space, the strategies, the spec, the median pruner, trial outcomes
// and the report. The processes (local workers, Slurm) are tested from the command line.
#include <cmath>
#include <fstream>
#include <set>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>

#include "hebbkit/errors.hpp"
#include "recipe/document.hpp"
#include "support/tiny_data.hpp"
#include "sweep/folder.hpp"
#include "sweep/pruner.hpp"
#include "sweep/report.hpp"
#include "sweep/search.hpp"
#include "sweep/spec.hpp"

using namespace hebbkit;
using namespace hebbkit::sweep;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// A finished trial folder as a run leaves it: manifest, summary and per-epoch metrics.
void fake_trial(const Folder& folder, const Spec& spec, std::size_t id, const std::string& status,
                const std::vector<double>& curve, double objective) {
  folder.write_trial({id, Point(spec.params.size(), 0.0), {}, ""}, spec);
  const auto dir = folder.trial_dir(id);
  write(dir / "manifest.json", json{{"status", status}, {"host", "elsewhere"}}.dump());
  write(dir / "summary.json", json{{"status", status}, {"val_accuracy", objective}, {"seconds", {{"train", 2.0}}}}.dump());
  std::string lines;
  for (std::size_t e = 0; e < curve.size(); ++e)
    lines += json{{"stage", "train"}, {"scope", "head"}, {"name", "val_accuracy"}, {"epoch", e}, {"step", nullptr},
                  {"value", curve[e]}}.dump() + "\n";
  write(dir / "metrics.jsonl", lines);
}

Spec one_param_spec() {
  Spec spec;
  spec.params.push_back(parse_param("head.lr=0.01,0.1"));
  spec.strategy = "grid";
  spec.prune.rule = "median";
  spec.prune.warmup = 1;
  spec.prune.startup = 2;
  return spec;
}

}  // namespace

TEST_CASE("swept parameters from command-line texts: choices, integer and real ranges, log scale", "[sweep]") {
  const auto choices = parse_param("layers.0.rule.p=2, 3,4.5");
  CHECK(choices.key == "layers.0.rule.p");
  CHECK(choices.kind == Dimension::Kind::Choice);
  CHECK(choices.choices == std::vector<std::string>{"2", "3", "4.5"});
  CHECK(choices.value_text(1) == "3");
  const auto words = parse_param("dataset.preprocess=[flatten, unit_norm],[flatten]");
  REQUIRE(words.choices.size() == 2);
  CHECK(words.choices[0] == "[flatten, unit_norm]");
  const auto ints = parse_param("layers.0.rule.k=2:10");
  CHECK(ints.kind == Dimension::Kind::Integer);
  CHECK(ints.lo == 2);
  CHECK(ints.hi == 10);
  CHECK(ints.value_text(6.0) == "6");
  const auto reals = parse_param("head.lr=1e-4:0.1:log");
  CHECK(reals.kind == Dimension::Kind::Real);
  CHECK(reals.log);
  CHECK(reals.value_text(1.0) == "1.0");  // a real stays a real in YAML
  CHECK_THROWS_WITH(parse_param("head.lr"), Contains("expected KEY=a,b,c"));
  CHECK_THROWS_WITH(parse_param("head.lr=0.5:0.1"), Contains("low end 0.5 is above its high end 0.1"));
  CHECK_THROWS_WITH(parse_param("head.lr=0:1:log"), Contains("log-scale range needs a positive low end"));
  CHECK_THROWS_WITH(parse_param("head.lr=0:1:exp"), Contains("can only be 'log'"));
  CHECK_THROWS_WITH(parse_param("head.lr=a:b"), Contains("must be numbers"));
}

TEST_CASE("sweep.params entries in a recipe and their errors", "[sweep]") {
  const auto d = parse_param("head.lr", YAML::Load("{float: [0.001, 0.1], log: true}"), "r.yaml:4:5");
  CHECK(d.kind == Dimension::Kind::Real);
  CHECK(d.log);
  CHECK(parse_param("k", YAML::Load("[2, 3]"), "w").choices.size() == 2);
  CHECK(parse_param("k", YAML::Load("{int: [2, 9]}"), "w").kind == Dimension::Kind::Integer);
  CHECK_THROWS_WITH(parse_param("k", YAML::Load("{int: [2.5, 9]}"), "r.yaml:4:5"), Contains("r.yaml:4:5: sweep.params.k: int"));
  CHECK_THROWS_WITH(parse_param("k", YAML::Load("{range: [2, 9]}"), "w"), Contains("unknown key 'range'"));
  CHECK_THROWS_WITH(parse_param("k", YAML::Load("[]"), "w"), Contains("empty"));
  CHECK_THROWS_WITH(parse_param("k", YAML::Load("7"), "w"), Contains("expected a list of choices"));
  // The canonical form read back is the same dimension.
  const auto back = parse_param("head.lr", d.to_yaml(), "sweep.yaml");
  CHECK(back.describe() == d.describe());
}

TEST_CASE("grid walks every combination, the last key fastest", "[sweep]") {
  const std::vector<Dimension> dims = {parse_param("a=x,y"), parse_param("b=1:3")};
  auto grid = make_strategy("grid", dims, 0, true, 0);
  REQUIRE(grid->size() == 6);
  std::set<std::vector<double>> seen;
  for (std::size_t i = 0; i < 6; ++i) seen.insert(*grid->suggest(i, {}));
  CHECK(seen.size() == 6);
  CHECK(*grid->suggest(0, {}) == Point{0, 1});
  CHECK(*grid->suggest(1, {}) == Point{0, 2});
  CHECK(*grid->suggest(3, {}) == Point{1, 1});
  CHECK_FALSE(grid->suggest(6, {}).has_value());
  CHECK_THROWS_WITH(make_strategy("grid", {parse_param("c=0.1:0.5")}, 0, true, 0), Contains("use strategy random or tpe"));
  CHECK_THROWS_WITH(make_strategy("bayes", dims, 0, true, 0), Contains("expected grid, random or tpe"));
}

TEST_CASE("random points are reproducible, in range and log-uniform on log ranges", "[sweep]") {
  const std::vector<Dimension> dims = {parse_param("lr=1e-4:1:log"), parse_param("k=2:10"), parse_param("p=a,b,c")};
  auto a = make_strategy("random", dims, 7, true, 0);
  auto b = make_strategy("random", dims, 7, true, 0);
  auto c = make_strategy("random", dims, 8, true, 0);
  CHECK(*a->suggest(5, {}) == *b->suggest(5, {}));
  CHECK(*a->suggest(5, {}) != *c->suggest(5, {}));
  std::vector<double> lrs;
  std::set<double> ks;
  for (std::size_t i = 0; i < 400; ++i) {
    const auto p = *a->suggest(i, {});
    CHECK(p[0] >= 1e-4);
    CHECK(p[0] <= 1);
    CHECK(p[1] == std::round(p[1]));
    ks.insert(p[1]);
    CHECK((p[2] == 0 || p[2] == 1 || p[2] == 2));
    lrs.push_back(std::log10(p[0]));
  }
  CHECK(ks.size() == 9);  // both ends included
  std::sort(lrs.begin(), lrs.end());
  CHECK(lrs[200] == Approx(-2).margin(0.3));  // median of a log-uniform draw over 1e-4..1
}

TEST_CASE("TPE closes in on the optimum faster than random search", "[sweep]") {
  const std::vector<Dimension> dims = {parse_param("x=0.0:1.0"), parse_param("c=a,b,c,d")};
  // Best at x = 0.3 and choice c (index 2).
  const auto objective = [](const Point& p) { return -std::pow(p[0] - 0.3, 2) - (p[1] == 2 ? 0.0 : 0.05); };
  const auto late_error = [&](const std::string& name, std::uint64_t seed) {
    auto strategy = make_strategy(name, dims, seed, true, 40);
    std::vector<Observation> done;
    double error = 0;
    for (std::size_t i = 0; i < 40; ++i) {
      const Point p = *strategy->suggest(i, done);
      done.push_back({p, objective(p), false});
      if (i >= 30) error += std::fabs(p[0] - 0.3) + (p[1] == 2 ? 0 : 0.25);
    }
    return error / 10;
  };
  double tpe = 0, random = 0;
  for (std::uint64_t seed = 0; seed < 5; ++seed) tpe += late_error("tpe", seed), random += late_error("random", seed);
  INFO("mean late error: tpe " << tpe / 5 << ", random " << random / 5);
  CHECK(tpe < 0.6 * random);
}

TEST_CASE("a recipe's sweep block, the command line over it, and errors with their place", "[sweep]") {
  TempDir dir("sweep_spec");
  write(dir / "r.yaml", "seed: 3\nhead: {name: softmax}\nsweep:\n  params:\n    head.lr: {float: [0.001, 0.1], log: true}\n"
                        "    head.epochs: [1, 2]\n  trials: 5\n  mode: min\n  objective: test_error\n");
  auto doc = recipe::load(dir / "r.yaml");
  CommandLine cli;
  cli.params = {"head.epochs=3,4,5", "head.batch=10:20"};
  cli.jobs = 2;
  const Spec spec = make_spec(doc, cli, 3);
  CHECK_FALSE(doc.root["sweep"]);  // the trials run the rest
  REQUIRE(spec.params.size() == 3);
  CHECK(spec.params[1].choices == std::vector<std::string>{"3", "4", "5"});  // the command line wins
  CHECK(spec.strategy == "random");  // a real range: no grid by default
  CHECK(spec.trials == 5);
  CHECK(spec.seed == 3);
  CHECK_FALSE(spec.maximize);
  CHECK(spec.objective == "test_error");
  CHECK(spec.jobs == 2);
  const Spec back = spec_from_yaml(spec.search_yaml());
  CHECK(recipe::to_yaml(back.search_yaml()) == recipe::to_yaml(spec.search_yaml()));

  write(dir / "typo.yaml", "sweep:\n  params: {head.lr: [0.1]}\n  stategy: tpe\n");
  auto typo = recipe::load(dir / "typo.yaml");
  CHECK_THROWS_WITH(make_spec(typo, {}, 0), Contains("typo.yaml:3:3: sweep.stategy: unknown key 'stategy'") &&
                                                 Contains("did you mean 'strategy'"));
  write(dir / "bad_prune.yaml", "sweep:\n  params: {head.lr: [0.1]}\n  prune: {rule: mean}\n");
  auto bad = recipe::load(dir / "bad_prune.yaml");
  CHECK_THROWS_WITH(make_spec(bad, {}, 0), Contains("bad_prune.yaml:3:11: sweep.prune.rule 'mean'"));
  write(dir / "none.yaml", "seed: 1\n");
  auto none = recipe::load(dir / "none.yaml");
  CHECK_THROWS_WITH(make_spec(none, {}, 0), Contains("nothing to sweep"));
  auto twice = recipe::load(dir / "none.yaml");
  CommandLine dup;
  dup.params = {"head.lr=0.1", "head.lr=0.2"};
  CHECK_THROWS_WITH(make_spec(twice, dup, 0), Contains("head.lr is swept twice"));
  auto grid = recipe::load(dir / "none.yaml");
  CommandLine discrete;
  discrete.params = {"head.epochs=1,2"};
  CHECK(make_spec(grid, discrete, 0).strategy == "grid");
  write(dir / "objective.yaml", "sweep:\n  params: {head.lr: [0.1]}\n  objective: val_acuracy\n");
  auto misspelt = recipe::load(dir / "objective.yaml");
  CHECK_THROWS_WITH(make_spec(misspelt, {}, 0), Contains("objective.yaml:3:3: objective (a number of summary.json) "
                                                     "'val_acuracy'") && Contains("did you mean 'val_accuracy'"));
}

TEST_CASE("trial outcomes read from their run folders", "[sweep]") {
  TempDir dir("sweep_folder");
  const Folder folder(dir.path());
  Spec spec = one_param_spec();
  fake_trial(folder, spec, 0, "completed", {0.5, 0.6}, 0.6);
  fake_trial(folder, spec, 1, "failed", {0.1}, 0.1);
  fake_trial(folder, spec, 2, "pruned", {0.1}, 0.1);
  folder.write_trial({3, {1.0}, {"head.lr=0.1"}, ""}, spec);  // not started
  folder.write_trial({4, {1.0}, {"head.lr=0.1"}, "exit code 2"}, spec);
  const auto trials = folder.read_trials(spec);
  REQUIRE(trials.size() == 5);
  CHECK(trials[3].overrides == std::vector<std::string>{"head.lr=0.1"});
  const auto o0 = folder.outcome(trials[0], spec);
  CHECK(o0.state == Outcome::State::Completed);
  CHECK(o0.value == 0.6);
  CHECK(o0.seconds == 2.0);
  CHECK(folder.outcome(trials[1], spec).state == Outcome::State::Failed);
  CHECK(folder.outcome(trials[2], spec).state == Outcome::State::Pruned);
  CHECK(folder.outcome(trials[3], spec).state == Outcome::State::Pending);
  CHECK(folder.outcome(trials[4], spec).error == "exit code 2");
  spec.objective = "val_acuracy";
  const auto missing = folder.outcome(trials[0], spec);
  CHECK(missing.state == Outcome::State::Failed);
  CHECK_THAT(missing.error, Contains("has no number 'val_acuracy'") && Contains("val_accuracy"));
}

TEST_CASE("the median rule prunes a trial that trails the completed ones", "[sweep]") {
  TempDir dir("sweep_prune");
  const Folder folder(dir.path());
  const Spec spec = one_param_spec();
  fake_trial(folder, spec, 0, "completed", {0.50, 0.70, 0.80}, 0.8);
  folder.write_trial({1, {0.0}, {}, ""}, spec);  // the trial being watched
  const auto point = [](double value, std::int64_t epoch) { return run::MetricPoint{"train", "head", "val_accuracy", epoch, -1, value}; };
  {
    MedianPruner pruner(folder, spec, 1);
    CHECK_FALSE(pruner.check(point(0.1, 0)));  // warmup
    CHECK_FALSE(pruner.check(point(0.2, 1)));  // one completed trial, startup wants two
  }
  fake_trial(folder, spec, 2, "completed", {0.40, 0.60, 0.70}, 0.7);
  fake_trial(folder, spec, 3, "pruned", {0.9, 0.9}, 0.9);  // not completed: not a peer
  folder.write_trial({1, {0.0}, {}, ""}, spec);
  MedianPruner pruner(folder, spec, 1);
  CHECK_FALSE(pruner.check(point(0.9, 0)));
  CHECK_FALSE(pruner.check(point(0.3, 1)));  // best so far 0.9 >= median 0.65
  CHECK_FALSE(pruner.check({"train", "head", "loss", 2, -1, 0.0}));  // not the watched metric
  MedianPruner slow(folder, spec, 1);
  CHECK_FALSE(slow.check(point(0.66, 1)));  // median of 0.7 and 0.6
  const auto why = slow.check(point(0.6, 2));
  REQUIRE(why);
  CHECK_THAT(*why, Contains("best val_accuracy so far 0.66 is below the median 0.75 of 2 completed trial(s)"));
}

TEST_CASE("results.csv, the table and the summary rank by the objective", "[sweep]") {
  TempDir dir("sweep_report");
  const Folder folder(dir.path());
  const Spec spec = one_param_spec();
  fake_trial(folder, spec, 0, "completed", {0.5}, 0.5);
  fake_trial(folder, spec, 1, "completed", {0.9}, 0.9);
  fake_trial(folder, spec, 2, "failed", {}, 0);
  std::vector<Row> rows;
  for (const auto& t : folder.read_trials(spec)) rows.push_back({t, folder.outcome(t, spec)});
  const auto order = ranked(rows, spec);
  CHECK(order[0].trial.id == 1);
  CHECK(order[1].trial.id == 0);
  CHECK(order[2].trial.id == 2);
  write_results(folder, spec, rows, run::RunStatus::Completed);
  std::ifstream csv(dir / "results.csv");
  std::string header, first;
  std::getline(csv, header);
  std::getline(csv, first);
  CHECK(header == "trial,status,head.lr,val_accuracy,seconds,error");
  CHECK(first == "0000,completed,0.01,0.5,2,");
  const auto summary = json::parse(std::ifstream(dir / "summary.json"));
  CHECK(summary["best"]["trial"] == "0001");
  CHECK(summary["states"]["failed"] == 1);
  const auto text = table(spec, rows);
  CHECK(text.find("0001") < text.find("0000"));
}

TEST_CASE("a spread is the mean, sample standard deviation, min and max of the finite values", "[sweep]") {
  const auto s = spread_of({0.97, 0.98, 0.99, NAN});
  CHECK(s.n == 3);
  CHECK(s.mean == Approx(0.98));
  CHECK(s.std == Approx(0.01));
  CHECK(s.min == Approx(0.97));
  CHECK(s.max == Approx(0.99));
  CHECK(spread_of({0.5}).std == 0.0);
  CHECK(spread_of({}).n == 0);
}

TEST_CASE("the table over seeds shows test accuracy beside the objective, once when it is the objective", "[sweep]") {
  Spec spec;
  spec.params.push_back(parse_param("seed=0,1"));
  const std::vector<SeedGroup> groups = {{"", spread_of({0.97, 0.98}), spread_of({0.96, 0.97})}};
  spec.objective = "val_accuracy";
  const auto both = seeds_table(spec, groups);
  CHECK_THAT(both, Catch::Matchers::Contains("val_accuracy (%) mean") &&
                       Catch::Matchers::Contains("test accuracy (%) mean") && Catch::Matchers::Contains("96.50"));
  spec.objective = "test_accuracy";
  const auto once = seeds_table(spec, groups);
  CHECK_THAT(once, Catch::Matchers::Contains("test_accuracy (%) mean"));
  CHECK_THAT(once, !Catch::Matchers::Contains("test accuracy (%) mean"));
}
