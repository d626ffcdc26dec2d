#pragma once
// A recipe resolved against the loaded plugins: every key checked, every plugin
// constructed (so checks that involve several values have run), ready to execute.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hebbkit/plugin.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"

namespace hebbkit::recipe {

/// The recipe schema version this hebbkit reads (top-level key `schema`).
inline constexpr int schema_version = 1;

enum class StageKind { Train, Evaluate, Attack, Plot, Save };
const char* to_string(StageKind kind);

/// Host-side dataset options, common to every dataset plugin.
struct DataOptions {
  std::string root;                     ///< "" = $HEBBKIT_DATA or the checkout's datasets/cache
  std::int64_t validation = 0;          ///< samples held out of train, chosen by seed
  std::int64_t train_limit = 0;         ///< 0 = all
  std::int64_t test_limit = 0;          ///< 0 = all
  std::vector<std::string> preprocess;  ///< flatten, center, unit_norm, standardize
  std::int64_t eval_batch = 1000;
};

struct PluginUse {
  const plugins::Loaded* plugin = nullptr;
  std::string path;  ///< key path in the recipe, e.g. "layers.0.rule"
};

struct Stage {
  StageKind kind = StageKind::Train;
  std::string path;                   ///< "stages.2"
  PluginUse attack;                   ///< for StageKind::Attack
  std::unique_ptr<Attack> attack_instance;
};

struct Recipe {
  std::shared_ptr<const Document> doc;
  std::string name;
  std::string description;
  std::uint64_t seed = 0;

  PluginUse dataset;
  std::unique_ptr<Dataset> dataset_instance;
  DataOptions data;

  std::vector<PluginUse> layers;
  std::vector<std::unique_ptr<Rule>> layer_instances;
  PluginUse head;
  std::unique_ptr<Head> head_instance;
  std::vector<Stage> stages;

  bool has_stage(StageKind kind) const;
};

/// Validates `doc` completely and constructs its plugins. Throws one RecipeError that
/// lists every problem found, each with its file:line:col (or --set) and key path.
Recipe resolve(Document doc, const plugins::Registry& registry);

/// The host's own dataset keys, shown by `hebbkit describe` for datasets.
const ParamSchema& data_options_schema();

}  // namespace hebbkit::recipe
