#include "recipe/recipe.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"
#include "recipe/schema_check.hpp"

namespace hebbkit::recipe {
namespace {

const std::vector<std::string> top_level_keys = {"schema", "name",   "description", "seed",
                                                 "dataset", "layers", "head",        "stages"};
const std::vector<std::string> preprocess_steps = {"flatten", "center", "unit_norm", "standardize"};
const std::vector<std::string> plain_stages = {"train", "evaluate", "plot", "save"};
const StageKind plain_stage_kinds[] = {StageKind::Train, StageKind::Evaluate, StageKind::Plot, StageKind::Save};

struct Resolver {
  std::shared_ptr<const Document> doc;
  const plugins::Registry& registry;
  std::vector<std::string> errors;

  std::string where(const std::string& path) const { return doc->where(path); }
  void error(const std::string& path, const std::string& message) {
    errors.push_back(fmt::format("{}: {}: {}", where(path), path, message));
  }

  // Looks up the plugin named by node["name"]; reports a missing name or unknown plugin.
  const plugins::Loaded* plugin_for(const YAML::Node& node, const std::string& path, PluginKind kind) {
    if (!node || !node.IsMap()) {
      error(path, fmt::format("expected a map with the {} plugin's 'name' and its parameters", to_string(kind)));
      return nullptr;
    }
    const YAML::Node name = node["name"];
    if (!name || !name.IsScalar()) {
      error(join(path, "name"), fmt::format("missing the {} plugin's name (available: {})", to_string(kind),
                                            fmt::join(registry.names(kind), ", ")));
      return nullptr;
    }
    if (const auto* found = registry.find(kind, name.Scalar())) return found;
    const auto available = registry.names(kind);
    std::string other;
    if (const auto* any = registry.find_any(name.Scalar()))
      other = fmt::format(" ('{}' is a {} plugin)", name.Scalar(), to_string(any->manifest->kind));
    error(join(path, "name"),
          fmt::format("unknown {} plugin '{}'{}{}; available: {}", to_string(kind), name.Scalar(), other,
                      suggestion(name.Scalar(), available),
                      available.empty() ? "none (is HEBBKIT_PLUGIN_PATH set?)" : fmt::format("{}", fmt::join(available, ", "))));
    return nullptr;
  }

  // Validates a plugin node and constructs the plugin if its parameters are clean.
  template <class T>
  std::unique_ptr<T> make(const YAML::Node& node, const std::string& path, PluginKind kind,
                          PluginUse& use, const ParamSchema& extra = {}) {
    use.path = path;
    use.plugin = plugin_for(node, path, kind);
    if (!use.plugin) return nullptr;
    ParamSchema schema = extra;
    schema.insert(schema.end(), use.plugin->manifest->schema.begin(), use.plugin->manifest->schema.end());
    const std::size_t before = errors.size();
    Params params = check_params(doc, node, path, schema, {"name"}, errors);
    if (errors.size() != before) return nullptr;
    try {
      const Manifest& m = *use.plugin->manifest;
      if constexpr (std::is_same_v<T, Rule>) return m.make_rule(params);
      if constexpr (std::is_same_v<T, Head>) return m.make_head(params);
      if constexpr (std::is_same_v<T, Dataset>) return m.make_dataset(params);
      if constexpr (std::is_same_v<T, Attack>) return m.make_attack(params);
    } catch (const RecipeError& e) {
      errors.push_back(e.what());
    }
    return nullptr;
  }
};

}  // namespace

const char* to_string(StageKind kind) {
  switch (kind) {
    case StageKind::Train: return "train";
    case StageKind::Evaluate: return "evaluate";
    case StageKind::Attack: return "attack";
    case StageKind::Plot: return "plot";
    case StageKind::Save: return "save";
  }
  return "?";
}

bool Recipe::has_stage(StageKind kind) const {
  return std::any_of(stages.begin(), stages.end(), [&](const Stage& s) { return s.kind == kind; });
}

const ParamSchema& data_options_schema() {
  static const ParamSchema schema = {
      param::string("root", "", "data root; empty: $HEBBKIT_DATA, else the checkout's datasets/cache"),
      param::integer("validation", 0, "training samples held out for validation (chosen by the seed)").at_least(0),
      param::integer("train_limit", 0, "use only the first N training samples (0: all)").at_least(0),
      param::integer("test_limit", 0, "use only the first N test samples (0: all)").at_least(0),
      param::strings("preprocess", {"flatten"},
                     "steps applied in order: flatten, center (subtract each sample's mean), "
                     "unit_norm (scale each sample to L2 norm 1), standardize (per-channel mean/std of train)"),
      param::integer("eval_batch", 1000, "batch size for evaluation and feature extraction").at_least(1),
  };
  return schema;
}

namespace {
Recipe resolve_checked(Document document, const plugins::Registry& registry);
}

Recipe resolve(Document document, const plugins::Registry& registry) {
  const std::string file = document.file.string();
  try {
    return resolve_checked(std::move(document), registry);
  } catch (const YAML::Exception& e) {
    // Every shape problem should have been reported above; this keeps a missed one an error, not a crash.
    throw RecipeError(fmt::format("{}: unexpected recipe structure: {}", file, e.what()));
  }
}

namespace {
Recipe resolve_checked(Document document, const plugins::Registry& registry) {
  Recipe recipe;
  auto doc = std::make_shared<const Document>(std::move(document));
  recipe.doc = doc;
  Resolver r{doc, registry, {}};
  const YAML::Node& root = doc->root;

  // Top level.
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (std::find(top_level_keys.begin(), top_level_keys.end(), key) == top_level_keys.end()) {
      r.error(key, unknown_key_message(key, top_level_keys));
    }
  }
  const ParamSchema top_schema = {
      param::integer("schema", schema_version, "recipe schema version").in_range(schema_version, schema_version),
      param::string("name", doc->file.stem().string(), "run name"),
      param::string("description", "", "what the recipe does"),
      param::integer("seed", 0, "seed of every random choice").at_least(0),
  };
  YAML::Node scalars(YAML::NodeType::Map);
  for (const auto& spec : top_schema)
    if (root[spec.name]) scalars[spec.name] = root[spec.name];
  Params top = check_params(doc, scalars, "", top_schema, {}, r.errors);
  if (r.errors.empty()) {
    recipe.name = top.string("name");
    recipe.description = top.string("description");
    recipe.seed = static_cast<std::uint64_t>(top.integer("seed"));
  }

  // Dataset.
  if (!root["dataset"]) {
    r.errors.push_back(fmt::format("{}: dataset: missing required key 'dataset' (available: {})",
                                   doc->file.string(), fmt::join(registry.names(PluginKind::Dataset), ", ")));
  } else {
    const std::size_t before = r.errors.size();
    recipe.dataset_instance = r.make<Dataset>(root["dataset"], "dataset", PluginKind::Dataset, recipe.dataset,
                                              data_options_schema());
    if (r.errors.size() == before) {
      std::vector<std::string> ignored;
      Params data = check_params(doc, root["dataset"], "dataset", data_options_schema(),
                                 [&] {
                                   std::set<std::string> s{"name"};
                                   for (auto& spec : recipe.dataset.plugin->manifest->schema) s.insert(spec.name);
                                   return s;
                                 }(),
                                 ignored);
      recipe.data.root = data.string("root");
      recipe.data.validation = data.integer("validation");
      recipe.data.train_limit = data.integer("train_limit");
      recipe.data.test_limit = data.integer("test_limit");
      recipe.data.eval_batch = data.integer("eval_batch");
      recipe.data.preprocess = data.strings("preprocess");
      for (std::size_t i = 0; i < recipe.data.preprocess.size(); ++i) {
        const auto& step = recipe.data.preprocess[i];
        if (std::find(preprocess_steps.begin(), preprocess_steps.end(), step) == preprocess_steps.end()) {
          r.error(join("dataset.preprocess", std::to_string(i)),
                  fmt::format("unknown preprocessing step '{}'{}; known: {}", step, suggestion(step, preprocess_steps),
                              fmt::join(preprocess_steps, ", ")));
        }
      }
    }
  }

  // Layers.
  if (const YAML::Node layers = root["layers"]) {
    if (!layers.IsSequence()) {
      r.error("layers", "expected a list of layers, each '- rule: {name: ..., ...}'");
    } else {
      for (std::size_t i = 0; i < layers.size(); ++i) {
        const std::string path = join("layers", std::to_string(i));
        const YAML::Node layer = layers[i];
        if (!layer.IsMap() || !layer["rule"]) {
          r.error(path, "expected a map with key 'rule' (the learning rule and its parameters)");
          continue;
        }
        for (const auto& kv : layer)
          if (kv.first.Scalar() != "rule")
            r.error(join(path, kv.first.Scalar()),
                    fmt::format("unknown key '{}' (a layer has only 'rule')", kv.first.Scalar()));
        recipe.layers.emplace_back();
        recipe.layer_instances.push_back(
            r.make<Rule>(layer["rule"], join(path, "rule"), PluginKind::Rule, recipe.layers.back()));
      }
    }
  }

  // Head.
  if (!root["head"]) {
    r.errors.push_back(fmt::format("{}: head: missing required key 'head' (available: {})", doc->file.string(),
                                   fmt::join(registry.names(PluginKind::Head), ", ")));
  } else {
    recipe.head_instance = r.make<Head>(root["head"], "head", PluginKind::Head, recipe.head);
  }

  // Stages.
  const YAML::Node stages = root["stages"] ? root["stages"] : YAML::Load("[train, evaluate]");
  if (!stages.IsSequence()) {
    r.error("stages", "expected a list, e.g. [train, evaluate, plot, save]");
  } else {
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const std::string path = join("stages", std::to_string(i));
      const YAML::Node entry = stages[i];
      Stage stage;
      stage.path = path;
      if (entry.IsScalar()) {
        const auto& name = entry.Scalar();
        const auto it = std::find(plain_stages.begin(), plain_stages.end(), name);
        if (it == plain_stages.end()) {
          std::vector<std::string> all = plain_stages;
          all.push_back("attack");
          r.error(path, fmt::format("unknown stage '{}'{}; stages: train, evaluate, plot, save, "
                                    "or {{attack: {{name: ..., ...}}}}",
                                    name, suggestion(name, all)));
          continue;
        }
        stage.kind = plain_stage_kinds[it - plain_stages.begin()];
      } else if (entry.IsMap() && entry.size() == 1 && entry["attack"]) {
        stage.kind = StageKind::Attack;
        stage.attack_instance = r.make<Attack>(entry["attack"], join(path, "attack"), PluginKind::Attack, stage.attack);
      } else {
        r.error(path, "expected a stage name (train, evaluate, plot, save) or {attack: {name: ..., ...}}");
        continue;
      }
      recipe.stages.push_back(std::move(stage));
    }
    for (std::size_t i = 0; i < recipe.stages.size(); ++i) {
      if (recipe.stages[i].kind == StageKind::Train && i != 0)
        r.error(recipe.stages[i].path, "'train' must be the first stage");
    }
    if (!recipe.stages.empty() && recipe.stages[0].kind != StageKind::Train)
      r.error("stages", "the first stage must be 'train': the other stages need a trained model");
  }

  throw_if_any(r.errors);
  return recipe;
}
}  // namespace

}  // namespace hebbkit::recipe
