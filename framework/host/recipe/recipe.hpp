#pragma once
// A recipe resolved against the loaded plugins: every key checked and every plugin
// constructed once (so checks that involve several values have run), then kept as
// parameters and factories only. Each run builds its own fresh instances from it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hebbkit/manifest.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"

namespace hebbkit::stages {
struct StageType;
}

namespace hebbkit::recipe {

/// The recipe schema version this hebbkit reads (top-level key `schema`).
inline constexpr int schema_version = 1;

/// Host-side dataset options, common to every dataset plugin.
struct DataOptions {
  std::string root;                     ///< "" = $HEBBKIT_DATA, else the default data folder
  std::int64_t validation = 0;          ///< samples held out of train, chosen by seed
  std::int64_t train_limit = 0;         ///< 0 = all
  std::int64_t test_limit = 0;          ///< 0 = all
  std::vector<std::string> preprocess;  ///< flatten, symmetric, center, unit_norm, standardize
  std::int64_t eval_batch = 1000;
};

/// A plugin named in the recipe with its validated parameters.
struct PluginUse {
  const plugins::Loaded* plugin = nullptr;
  std::string path;              ///< key path in the recipe, e.g. "layers.0.rule"
  std::optional<Params> params;  ///< validated; set whenever resolve() succeeded

  const std::string& name() const { return plugin->manifest->name; }
  /// A fresh instance, e.g. use.make<Rule>().
  template <class T>
  std::unique_ptr<T> make() const;
};

/// One entry of `stages`: its row of the stage table and its validated keys.
struct StageUse {
  const stages::StageType* type = nullptr;
  std::string path;              ///< "stages.2"
  std::optional<Params> params;  ///< the stage's own keys
  PluginUse plugin;              ///< for plugin stages (attack); plugin == nullptr otherwise
  const std::string& name() const;
};

/// `reuse:` — the first `layers` layers come trained from the model/ of the run in `run`
/// instead of being trained again (checked to be the same layers on the same data).
struct LayerReuse {
  std::filesystem::path run;
  std::size_t layers = 0;  ///< resolved: never 0
  /// The run has the recipe's seed: torch's generator continues from the run's after these
  /// layers, so the layers above and the head get the numbers a full run gets.
  bool same_seed = false;
  /// Readout keys of the top layer reused that differ from the run's ("layers.0.rule.power: 2
  /// here, 1 in the run reused"): the layer's weights are the run's, its output is this recipe's.
  std::vector<std::string> readouts;
};

struct Recipe {
  std::shared_ptr<const Document> doc;
  std::string name;
  std::string description;
  std::uint64_t seed = 0;
  PluginUse dataset;
  DataOptions data;
  std::vector<PluginUse> layers;
  PluginUse head;
  std::vector<StageUse> stages;
  std::optional<LayerReuse> reuse;

  bool has_stage(const std::string& name) const;
};

/// What the recipe's stages start from: a fresh model (`train` must come first when any
/// stage needs a model) or a finished run's model (no `train` allowed).
enum class StagesStart { Fresh, TrainedModel };

/// Validates `doc` completely and constructs each plugin once. Throws one RecipeError that
/// lists every problem found, each with its file:line:col (or --set) and key path. With
/// StagesStart::Fresh a `reuse:` run is read and its layers checked against the recipe's;
/// a reopened model (TrainedModel) holds its layers itself and does not need that run.
Recipe resolve(Document doc, const plugins::Registry& registry, StagesStart start = StagesStart::Fresh);

/// The recipe as a run folder keeps it (recipe.resolved.yaml): the document with its name
/// and, for `reuse:`, the run's absolute path and layer count written out, so that a resume
/// or reopen from anywhere gets the same recipe.
YAML::Node resolved_yaml(const Recipe& recipe);

/// What a model's weights depend on, key by key ("layers.0.rule.epochs" -> "3"): the
/// resolved recipe but for `name` and `stages` (a checkpoint is refused where these differ).
std::map<std::string, std::string> training_inputs(const Recipe& recipe);

/// The host's own dataset keys, shown by `hebbkit describe` for datasets.
const ParamSchema& data_options_schema();

template <class T>
std::unique_ptr<T> PluginUse::make() const {
  const Manifest& m = *plugin->manifest;
  if constexpr (std::is_same_v<T, Rule>) return m.make_rule(*params);
  if constexpr (std::is_same_v<T, Head>) return m.make_head(*params);
  if constexpr (std::is_same_v<T, Dataset>) return m.make_dataset(*params);
  if constexpr (std::is_same_v<T, Attack>) return m.make_attack(*params);
}

}  // namespace hebbkit::recipe
