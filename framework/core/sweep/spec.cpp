#include "sweep/spec.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "recipe/schema_check.hpp"
#include "run/run_records.hpp"

namespace hebbkit::sweep {

namespace {

const std::vector<std::string> block_keys = {"params", "strategy", "trials", "seed", "objective", "mode", "prune", "jobs"};
const std::vector<std::string> prune_keys = {"rule", "metric", "warmup", "startup"};

void set_metric(Pruning& p, const std::string& text, const std::string& where) {
  const auto dot = text.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size())
    throw RecipeError(fmt::format("{}: prune metric '{}': expected SCOPE.NAME as in metrics.jsonl, e.g. "
                                  "head.val_accuracy or layers.0.val_accuracy",
                                  where, text));
  p.scope = text.substr(0, dot);
  p.name = text.substr(dot + 1);
}

void check_choice(const std::string& value, const std::vector<std::string>& allowed, const std::string& where,
                  const std::string& what) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    throw RecipeError(fmt::format("{}: {} '{}': expected one of {}{}", where, what, value, fmt::join(allowed, ", "),
                                  recipe::suggestion(value, allowed)));
}

std::int64_t read_int(const YAML::Node& node, const std::string& where, const std::string& key, std::int64_t min) {
  std::int64_t v = 0;
  try {
    v = node.as<std::int64_t>();
  } catch (const YAML::Exception&) {
    throw RecipeError(fmt::format("{}: {}: expected a whole number, got '{}'", where, key, node.Scalar()));
  }
  if (v < min) throw RecipeError(fmt::format("{}: {}: {} is below the minimum {}", where, key, v, min));
  return v;
}

std::string read_text(const YAML::Node& node, const std::string& where, const std::string& key) {
  if (!node.IsScalar()) throw RecipeError(fmt::format("{}: {}: expected a word", where, key));
  return node.Scalar();
}

}  // namespace

YAML::Node Spec::search_yaml() const {
  YAML::Node node;
  for (const auto& d : params) node["params"][d.key] = d.to_yaml();
  node["strategy"] = strategy;
  node["seed"] = seed;
  node["objective"] = objective;
  node["mode"] = maximize ? "max" : "min";
  node["prune"]["rule"] = prune.rule;
  node["prune"]["metric"] = prune.metric();
  node["prune"]["warmup"] = prune.warmup;
  node["prune"]["startup"] = prune.startup;
  return node;
}

Spec make_spec(recipe::Document& doc, const CommandLine& cli, std::uint64_t recipe_seed) {
  Spec spec;
  spec.seed = recipe_seed;
  std::optional<std::string> strategy, mode;
  std::string objective_where = "sweep.objective";
  const YAML::Node block = doc.root["sweep"];
  if (block) {
    const std::string at = doc.where("sweep");
    if (!block.IsMap()) throw RecipeError(fmt::format("{}: sweep: expected a map with params, strategy, trials, ...", at));
    for (const auto& kv : block) {
      const std::string key = kv.first.Scalar();
      const std::string path = "sweep." + key;
      const std::string where = doc.where(path);
      if (key == "params") {
        if (!kv.second.IsMap())
          throw RecipeError(fmt::format("{}: sweep.params: expected a map from key path to choices or range", where));
        for (const auto& p : kv.second)
          spec.params.push_back(parse_param(p.first.Scalar(), p.second, doc.where(path + "." + p.first.Scalar())));
      } else if (key == "strategy") {
        strategy = read_text(kv.second, where, path);
        check_choice(*strategy, {"grid", "random", "tpe"}, where, path);
      } else if (key == "trials") {
        spec.trials = static_cast<std::size_t>(read_int(kv.second, where, path, 1));
      } else if (key == "seed") {
        spec.seed = static_cast<std::uint64_t>(read_int(kv.second, where, path, 0));
      } else if (key == "objective") {
        spec.objective = read_text(kv.second, where, path);
        objective_where = where;
      } else if (key == "mode") {
        mode = read_text(kv.second, where, path);
        check_choice(*mode, {"max", "min"}, where, path);
      } else if (key == "jobs") {
        spec.jobs = static_cast<int>(read_int(kv.second, where, path, 1));
      } else if (key == "prune") {
        if (!kv.second.IsMap()) throw RecipeError(fmt::format("{}: sweep.prune: expected a map ({})", where, fmt::join(prune_keys, ", ")));
        for (const auto& p : kv.second) {
          const std::string k = p.first.Scalar();
          const std::string w = doc.where(path + "." + k);
          if (k == "rule") {
            spec.prune.rule = read_text(p.second, w, path + ".rule");
            check_choice(spec.prune.rule, {"none", "median"}, w, path + ".rule");
          } else if (k == "metric") {
            set_metric(spec.prune, read_text(p.second, w, path + ".metric"), w);
          } else if (k == "warmup") {
            spec.prune.warmup = read_int(p.second, w, path + ".warmup", 0);
          } else if (k == "startup") {
            spec.prune.startup = read_int(p.second, w, path + ".startup", 1);
          } else {
            throw RecipeError(fmt::format("{}: {}.{}: {}", w, path, k, recipe::unknown_key_message(k, prune_keys)));
          }
        }
      } else {
        throw RecipeError(fmt::format("{}: {}: {}", where, path, recipe::unknown_key_message(key, block_keys)));
      }
    }
    doc.root.remove("sweep");
  }

  const std::size_t from_recipe = spec.params.size();
  for (const auto& text : cli.params) {
    Dimension d = parse_param(text);
    for (std::size_t j = from_recipe; j < spec.params.size(); ++j)
      if (spec.params[j].key == d.key)
        throw RecipeError(fmt::format("{}: {} is swept twice (also {})", d.origin, d.key, spec.params[j].origin));
    const auto same = std::find_if(spec.params.begin(), spec.params.end(), [&](const Dimension& e) { return e.key == d.key; });
    if (same != spec.params.end()) *same = std::move(d);  // the command line wins
    else spec.params.push_back(std::move(d));
  }
  if (cli.strategy) {
    check_choice(*cli.strategy, {"grid", "random", "tpe"}, "--strategy", "strategy");
    strategy = cli.strategy;
  }
  if (cli.mode) {
    check_choice(*cli.mode, {"max", "min"}, "--mode", "mode");
    mode = cli.mode;
  }
  if (cli.objective) {
    spec.objective = *cli.objective;
    objective_where = "--objective";
  }
  check_choice(spec.objective, run::summary_numbers(), objective_where, "objective (a number of summary.json)");
  if (cli.trials) spec.trials = *cli.trials;
  if (cli.jobs) spec.jobs = *cli.jobs;
  if (cli.prune) {
    check_choice(*cli.prune, {"none", "median"}, "--prune", "prune rule");
    spec.prune.rule = *cli.prune;
  }
  if (cli.prune_metric) set_metric(spec.prune, *cli.prune_metric, "--prune-metric");

  if (spec.params.empty())
    throw RecipeError(fmt::format("{}: nothing to sweep: give a `sweep: {{params: ...}}` block or --param KEY=SPEC "
                                  "(e.g. --param layers.0.rule.p=2,3,4)",
                                  doc.file.string()));
  for (std::size_t i = 0; i < spec.params.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (spec.params[i].key == spec.params[j].key)
        throw RecipeError(fmt::format("{}: {} is swept twice (also {})", spec.params[i].origin, spec.params[i].key,
                                      spec.params[j].origin));
  const bool gridable = std::all_of(spec.params.begin(), spec.params.end(),
                                    [](const Dimension& d) { return d.kind != Dimension::Kind::Real; });
  spec.strategy = strategy ? *strategy : gridable ? "grid" : "random";
  spec.maximize = !mode || *mode == "max";
  if (spec.trials == 0 && spec.strategy != "grid") spec.trials = 20;
  return spec;
}

Spec spec_from_yaml(const YAML::Node& node) {
  Spec spec;
  for (const auto& p : node["params"]) spec.params.push_back(parse_param(p.first.Scalar(), p.second, "sweep.json"));
  spec.strategy = node["strategy"].as<std::string>();
  spec.seed = node["seed"].as<std::uint64_t>();
  spec.objective = node["objective"].as<std::string>();
  spec.maximize = node["mode"].as<std::string>() == "max";
  spec.prune.rule = node["prune"]["rule"].as<std::string>();
  set_metric(spec.prune, node["prune"]["metric"].as<std::string>(), "sweep.json");
  spec.prune.warmup = node["prune"]["warmup"].as<std::int64_t>();
  spec.prune.startup = node["prune"]["startup"].as<std::int64_t>();
  return spec;
}

}  // namespace hebbkit::sweep
