#pragma once
// A sweep as specified: the recipe's `sweep:` block merged with the command line's
// options (which win), checked, with defaults filled in.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "recipe/document.hpp"
#include "sweep/space.hpp"

namespace hebbkit::sweep {

/// Stops trials whose intermediate metric trails: the median rule (Optuna's MedianPruner).
struct Pruning {
  std::string rule = "none";  ///< none or median
  std::string scope = "head"; ///< the metric's scope in metrics.jsonl, e.g. head or layers.0
  std::string name = "val_accuracy";
  std::int64_t warmup = 2;    ///< epochs a trial runs before it can be pruned
  std::int64_t startup = 4;   ///< trials that must complete before any is pruned
  bool enabled() const { return rule != "none"; }
  std::string metric() const { return scope + "." + name; }
};

struct Spec {
  std::vector<Dimension> params;
  std::string strategy;          ///< grid, random or tpe
  std::size_t trials = 0;        ///< grid: every combination unless fewer are asked for
  std::uint64_t seed = 0;        ///< the sampler's; default: the recipe's seed
  std::string objective = "val_accuracy";  ///< a number in each trial's summary.json
  bool maximize = true;
  Pruning prune;
  int jobs = 1;                  ///< local trials at once / Slurm's concurrency cap

  /// What decides the trials (not jobs or trials): compared when a sweep is continued.
  YAML::Node search_yaml() const;
};

/// What the command line can say; unset fields leave the recipe's value.
struct CommandLine {
  std::vector<std::string> params;  ///< KEY=SPEC texts
  std::optional<std::string> strategy, objective, mode, prune, prune_metric;
  std::optional<std::size_t> trials;
  std::optional<int> jobs;
};

/// Takes the `sweep:` block out of `doc.root` (the trials run the rest) and merges
/// `cli` into it. Throws RecipeError naming the file:line or the option at fault.
Spec make_spec(recipe::Document& doc, const CommandLine& cli, std::uint64_t recipe_seed);

/// Reads back what `Spec::search_yaml()` wrote (a continued sweep, a trial process).
Spec spec_from_yaml(const YAML::Node& node);

}  // namespace hebbkit::sweep
