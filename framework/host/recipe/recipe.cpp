#include "recipe/recipe.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/attack.hpp"
#include "hebbkit/dataset.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/head.hpp"
#include "hebbkit/preprocess.hpp"
#include "hebbkit/rule.hpp"
#include "hebbkit/training.hpp"
#include "recipe/reuse.hpp"
#include "recipe/schema_check.hpp"
#include "recipe/stage_catalog.hpp"

namespace hebbkit::recipe {
namespace {

// `sweep` is read by `hebbkit sweep` (sweep/spec.cpp); a plain run ignores it.
const std::vector<std::string> top_level_keys = {"schema", "name",     "description", "seed", "dataset", "layers",
                                                 "depth",  "by_depth", "reuse",       "head", "stages",  "sweep"};

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

  // Validates a plugin node against the plugin's schema plus the host's `extra` keys, and
  // constructs the plugin once so that its own multi-value checks run. The instance is
  // dropped: runs build fresh ones.
  PluginUse plugin(const YAML::Node& node, const std::string& path, PluginKind kind, const ParamSchema& extra = {}) {
    PluginUse use;
    use.path = path;
    use.plugin = plugin_for(node, path, kind);
    if (!use.plugin) return use;
    ParamSchema schema = extra;
    schema.insert(schema.end(), use.plugin->manifest->schema.begin(), use.plugin->manifest->schema.end());
    const std::size_t before = errors.size();
    Params params = check_params(doc, node, path, schema, {"name"}, errors);
    if (errors.size() != before) return use;
    use.params = params;
    try {
      switch (kind) {
        case PluginKind::Rule: use.make<Rule>(); break;
        case PluginKind::Head: use.make<Head>(); break;
        case PluginKind::Dataset: use.make<Dataset>(); break;
        case PluginKind::Attack: use.make<Attack>(); break;
      }
    } catch (const RecipeError& e) {
      errors.push_back(e.what());
      use.params.reset();
    }
    return use;
  }

  // The keys of `extra` read from a plugin node, ignoring the plugin's own keys.
  Params host_keys(const YAML::Node& node, const std::string& path, const PluginUse& use, const ParamSchema& extra) {
    std::set<std::string> others{"name"};
    for (const auto& spec : use.plugin->manifest->schema) others.insert(spec.name);
    std::vector<std::string> ignored;  // already reported by plugin()
    return check_params(doc, node, path, extra, others, ignored);
  }

  void dataset(const YAML::Node& root, Recipe& recipe) {
    if (!root["dataset"]) {
      errors.push_back(fmt::format("{}: dataset: missing required key 'dataset' (available: {})", doc->file.string(),
                                   fmt::join(registry.names(PluginKind::Dataset), ", ")));
      return;
    }
    recipe.dataset = plugin(root["dataset"], "dataset", PluginKind::Dataset, data_options_schema());
    if (!recipe.dataset.params) return;
    Params data = host_keys(root["dataset"], "dataset", recipe.dataset, data_options_schema());
    recipe.data.root = data.string("root");
    recipe.data.validation = data.integer("validation");
    recipe.data.train_limit = data.integer("train_limit");
    recipe.data.test_limit = data.integer("test_limit");
    recipe.data.eval_batch = data.integer("eval_batch");
    recipe.data.preprocess = data.strings("preprocess");
    const auto& known = Preprocessor::known_steps();
    for (std::size_t i = 0; i < recipe.data.preprocess.size(); ++i) {
      const auto& step = recipe.data.preprocess[i];
      if (std::find(known.begin(), known.end(), step) == known.end())
        error(join("dataset.preprocess", std::to_string(i)),
              fmt::format("unknown preprocessing step '{}'{}; known: {}", step, suggestion(step, known),
                          fmt::join(known, ", ")));
    }
  }

  void layers(const YAML::Node& root, Recipe& recipe) {
    const YAML::Node layers = root["layers"];
    if (!layers) return;
    if (!layers.IsSequence()) {
      error("layers", "expected a list of layers, each '- rule: {name: ..., ...}'");
      return;
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const std::string path = join("layers", std::to_string(i));
      const YAML::Node layer = layers[i];
      if (!layer.IsMap() || !layer["rule"]) {
        error(path, "expected a map with key 'rule' (the learning rule and its parameters)");
        continue;
      }
      for (const auto& kv : layer)
        if (kv.first.Scalar() != "rule")
          error(join(path, kv.first.Scalar()), fmt::format("unknown key '{}' (a layer has only 'rule')", kv.first.Scalar()));
      recipe.layers.push_back(plugin(layer["rule"], join(path, "rule"), PluginKind::Rule));
    }
  }

  // One entry of `stages`: a name (`evaluate`) or a one-key map ({evaluate: {...}},
  // {attack: {name: fgsm, ...}}), read through its row of the stage table.
  void stage(const YAML::Node& entry, const std::string& path, Recipe& recipe) {
    const std::string forms = "a stage name or a one-key map such as {attack: {name: ..., ...}}";
    std::string name;
    YAML::Node node(YAML::NodeType::Map);
    std::string node_path = path;
    if (entry.IsScalar()) {
      name = entry.Scalar();
    } else if (entry.IsMap() && entry.size() == 1) {
      name = entry.begin()->first.Scalar();
      node = entry.begin()->second;
      node_path = join(path, name);
      if (node.IsNull()) node = YAML::Node(YAML::NodeType::Map);
    } else {
      error(path, fmt::format("expected {}; stages: {}", forms, fmt::join(stages::names(), ", ")));
      return;
    }
    const stages::StageType* type = stages::find(name);
    if (!type) {
      error(path, fmt::format("unknown stage '{}'{}; stages: {}", name, suggestion(name, stages::names()),
                              fmt::join(stages::names(), ", ")));
      return;
    }
    StageUse use;
    use.type = type;
    use.path = path;
    if (type->plugin) {
      if (!entry.IsMap()) {
        error(path, fmt::format("the {0} stage names its plugin: {{{0}: {{name: ..., ...}}}} (available: {1})", name,
                                fmt::join(registry.names(*type->plugin), ", ")));
        return;
      }
      use.plugin = plugin(node, node_path, *type->plugin, type->schema);
      if (!use.plugin.params) return;
      use.params = host_keys(node, node_path, use.plugin, type->schema);
    } else {
      if (!node.IsMap()) {
        error(node_path, fmt::format("expected the {} stage's keys as a map", name));
        return;
      }
      const std::size_t before = errors.size();
      Params params = check_params(doc, node, node_path, type->schema, {}, errors);
      if (errors.size() != before) return;
      use.params = params;
    }
    try {
      type->make(use);  // constructing the stage runs its own multi-value checks
    } catch (const RecipeError& e) {
      errors.push_back(e.what());
      return;
    }
    recipe.stages.push_back(std::move(use));
  }

  void stages(const YAML::Node& root, Recipe& recipe, StagesStart start) {
    const YAML::Node stages = root["stages"] ? root["stages"] : YAML::Load("[train, evaluate]");
    if (!stages.IsSequence()) {
      error("stages", fmt::format("expected a list, e.g. [train, evaluate, plot, save]; stages: {}",
                                  fmt::join(stages::names(), ", ")));
      return;
    }
    for (std::size_t i = 0; i < stages.size(); ++i) stage(stages[i], join("stages", std::to_string(i)), recipe);
    if (stages.size() == 0) error("stages", "the list is empty: a run must do something (e.g. [train, evaluate])");
    for (std::size_t i = 0; i < recipe.stages.size(); ++i) {
      const auto& s = recipe.stages[i];
      if (!s.type->trains) continue;
      if (start == StagesStart::TrainedModel)
        error(s.path, fmt::format("'{}' cannot run on a reopened model; start a new run with `hebbkit run`", s.name()));
      else if (i != 0)
        error(s.path, fmt::format("'{}' must be the first stage", s.name()));
    }
    if (start == StagesStart::Fresh && !recipe.stages.empty() && !recipe.stages[0].type->trains)
      error("stages", "the first stage must be 'train': the other stages need a trained model");
  }
};

}  // namespace

const std::string& StageUse::name() const { return type->name; }

bool Recipe::has_stage(const std::string& name) const {
  return std::any_of(stages.begin(), stages.end(), [&](const StageUse& s) { return s.name() == name; });
}

const ParamSchema& data_options_schema() {
  static const ParamSchema schema = {
      spec::string("root", "", "data root; empty: $HEBBKIT_DATA, else the default data folder (see docs/recipes.md)"),
      spec::integer("validation", 0, "training samples held out for validation (chosen by the seed)").at_least(0),
      spec::integer("train_limit", 0, "use only the first N training samples (0: all)").at_least(0),
      spec::integer("test_limit", 0, "use only the first N test samples (0: all)").at_least(0),
      spec::strings("preprocess", {"flatten"},
                     "steps applied in order: flatten, symmetric (2x - 1: pixels from [0, 1] to [-1, 1]), center (subtract each sample's mean), "
                     "unit_norm (scale each sample to L2 norm 1), standardize (per-channel mean/std of train)"),
      spec::integer("eval_batch", 1000, "batch size for evaluation and feature extraction").at_least(1),
  };
  return schema;
}

namespace {

// With a data set of known image shape, each layer's plan says how much memory fitting it
// takes and what it outputs: a layer that cannot fit in this machine is refused here, by
// `validate`, naming its key, not by a failed allocation in the middle of a run.
void plan_memory(const Recipe& recipe, std::vector<std::string>& errors) {
  std::vector<std::int64_t> shape = recipe.dataset.make<Dataset>()->sample_shape();
  if (shape.empty()) return;
  shape = Preprocessor(recipe.data.preprocess).output_shape(shape);
  const double machine = machine_memory_bytes();
  for (const auto& use : recipe.layers) {
    if (shape.empty()) return;
    const auto plan = use.make<Rule>()->plan(shape);
    if (!plan) return;
    if (machine > 0 && plan->bytes > machine) {
      try {
        use.params->fail(plan->key, fmt::format("{} need about {:.1f} GB to train; this machine has {:.1f} GB of memory",
                                                plan->what, plan->bytes / 1e9, machine / 1e9));
      } catch (const RecipeError& e) {
        errors.push_back(e.what());
      }
    }
    shape = plan->output_shape;
  }
}

Recipe resolve_checked(Document document, const plugins::Registry& registry, StagesStart start) {
  Recipe recipe;
  auto doc = std::make_shared<const Document>(std::move(document));
  recipe.doc = doc;
  Resolver r{doc, registry, {}};
  const YAML::Node& root = doc->root;

  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (std::find(top_level_keys.begin(), top_level_keys.end(), key) == top_level_keys.end())
      r.error(key, unknown_key_message(key, top_level_keys));
  }
  const ParamSchema top_schema = {
      spec::integer("schema", schema_version, "recipe schema version").in_range(schema_version, schema_version),
      spec::string("name", doc->file.stem().string(), "run name"),
      spec::string("description", "", "what the recipe does"),
      spec::integer("seed", 0, "seed of every random choice").at_least(0),
      spec::integer("depth", 0, "build and train only the first N layers (0: all), e.g. a head after layer N")
          .at_least(0),
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

  r.dataset(root, recipe);
  r.layers(root, recipe);
  if (const YAML::Node by_depth = root["by_depth"])  // its shape was checked when it was applied
    for (const auto& entry : by_depth)
      if (std::stoul(entry.first.Scalar()) > recipe.layers.size())
        r.error(join("by_depth", entry.first.Scalar()),
                fmt::format("depth {} but the recipe has {} layer(s)", entry.first.Scalar(), recipe.layers.size()));
  if (r.errors.empty() && top.integer("depth") > 0) {
    const auto depth = static_cast<std::size_t>(top.integer("depth"));
    if (depth > recipe.layers.size())
      r.error("depth", fmt::format("depth = {} but the recipe has {} layer(s)", depth, recipe.layers.size()));
    else
      recipe.layers.resize(depth);  // the layers above were validated all the same
  }
  if (!root["head"])
    r.errors.push_back(fmt::format("{}: head: missing required key 'head' (available: {})", doc->file.string(),
                                   fmt::join(registry.names(PluginKind::Head), ", ")));
  else
    recipe.head = r.plugin(root["head"], "head", PluginKind::Head);
  r.stages(root, recipe, start);
  if (root["reuse"]) {
    Params reuse = check_params(doc, root["reuse"], "reuse", reuse_schema(), {}, r.errors);
    if (r.errors.empty()) {
      recipe.reuse = LayerReuse{reuse.string("run"), static_cast<std::size_t>(reuse.integer("layers"))};
      // A reopened model holds its layers itself; only a run that trains needs the run reused.
      if (start == StagesStart::Fresh) check_reuse(recipe, registry, r.errors);
    }
  }
  if (r.errors.empty()) plan_memory(recipe, r.errors);

  throw_if_any(r.errors);
  return recipe;
}
}  // namespace

Recipe resolve(Document document, const plugins::Registry& registry, StagesStart start) {
  const std::string file = document.file.string();
  try {
    return resolve_checked(std::move(document), registry, start);
  } catch (const YAML::Exception& e) {
    // Every shape problem should have been reported above; this keeps a missed one an error, not a crash.
    throw RecipeError(fmt::format("{}: unexpected recipe structure: {}", file, e.what()));
  }
}

YAML::Node resolved_yaml(const Recipe& recipe) {
  YAML::Node resolved = YAML::Clone(recipe.doc->root);
  resolved["name"] = recipe.name;
  if (recipe.reuse) {
    resolved["reuse"]["run"] = std::filesystem::absolute(recipe.reuse->run).lexically_normal().string();
    resolved["reuse"]["layers"] = recipe.reuse->layers;
  }
  return resolved;
}

std::map<std::string, std::string> training_inputs(const Recipe& recipe) {
  // Through YAML text and back, as a resume reads recipe.resolved.yaml.
  const YAML::Node resolved = YAML::Load(to_yaml(resolved_yaml(recipe)));
  std::map<std::string, std::string> out;
  for (const auto& kv : resolved) {
    const std::string key = kv.first.Scalar();
    if (key != "name" && key != "stages") out.merge(leaf_values(kv.second, key));
  }
  return out;
}

}  // namespace hebbkit::recipe
