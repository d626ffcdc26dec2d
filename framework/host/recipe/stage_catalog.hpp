#pragma once
// The stages a recipe may name: each one's name, keys and factory, and the Stage interface
// they build. Declared here, below the stages, because the recipe checks its `stages:` against
// this table; stages/table.cpp defines it, stages/stage.hpp gives a stage what it works with.
// Torch-free, so that the CLI lists and describes stages without compiling against torch.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hebbkit/manifest.hpp"
#include "hebbkit/params.hpp"

namespace hebbkit::recipe {
struct StageUse;
}  // namespace hebbkit::recipe

namespace hebbkit::stages {

struct StageEnv;  // stages/stage.hpp

class Stage {
 public:
  virtual ~Stage();
  virtual void run(StageEnv& env) = 0;
};

/// One row of the stage table.
struct StageType {
  std::string name;
  std::string summary;
  /// Only `train` makes a model; every other stage needs a trained (or reopened) one.
  bool trains = false;
  /// In a data-parallel run every process runs it on its shard of the data (train,
  /// evaluate); the other stages rank 0 runs alone, after the others have left.
  bool every_rank = false;
  /// Set when the stage's node is a plugin's node ({attack: {name: fgsm, ...}}).
  std::optional<PluginKind> plugin;
  /// The stage's own keys (for a plugin stage: host keys accepted beside the plugin's).
  ParamSchema schema;
  std::function<std::unique_ptr<Stage>(const recipe::StageUse&)> make;
};

/// Every stage, in the order `hebbkit describe` lists them.
const std::vector<StageType>& table();
/// nullptr when there is no stage of that name.
const StageType* find(const std::string& name);
std::vector<std::string> names();

}  // namespace hebbkit::stages
