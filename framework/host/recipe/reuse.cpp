#include "recipe/reuse.hpp"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hebbkit/errors.hpp"
#include "recipe/document.hpp"

namespace hebbkit::recipe {
namespace {

namespace fs = std::filesystem;

// A parameter's value as the recipe would spell it, for messages.
std::string value_text(const Params& p, const ParamSpec& spec) {
  if (!p.has(spec.name)) return "(not given)";
  switch (spec.type) {
    case ParamType::Integer: return std::to_string(p.integer(spec.name));
    case ParamType::Real: return fmt::format("{}", p.real(spec.name));
    case ParamType::Boolean: return p.boolean(spec.name) ? "true" : "false";
    case ParamType::String:
    case ParamType::Choice: return p.string(spec.name);
    case ParamType::Integers: return fmt::format("[{}]", fmt::join(p.integers(spec.name), ", "));
    case ParamType::Reals: return fmt::format("[{}]", fmt::join(p.reals(spec.name), ", "));
    case ParamType::Strings: return fmt::format("[{}]", fmt::join(p.strings(spec.name), ", "));
  }
  return "?";
}

// Both recipes were validated against the same schema, so their typed values compare
// exactly: `p: 2` and `p: 2.0` are the same layer.
bool same_value(const Params& a, const Params& b, const ParamSpec& spec) {
  if (a.has(spec.name) != b.has(spec.name)) return false;
  if (!a.has(spec.name)) return true;
  switch (spec.type) {
    case ParamType::Integer: return a.integer(spec.name) == b.integer(spec.name);
    case ParamType::Real: return a.real(spec.name) == b.real(spec.name);
    case ParamType::Boolean: return a.boolean(spec.name) == b.boolean(spec.name);
    case ParamType::String:
    case ParamType::Choice: return a.string(spec.name) == b.string(spec.name);
    case ParamType::Integers: return a.integers(spec.name) == b.integers(spec.name);
    case ParamType::Reals: return a.reals(spec.name) == b.reals(spec.name);
    case ParamType::Strings: return a.strings(spec.name) == b.strings(spec.name);
  }
  return false;
}

struct Checker {
  const Recipe& recipe;
  const std::string run;  // as the recipe names it
  std::vector<std::string>& errors;

  void error(const std::string& path, const std::string& message) {
    errors.push_back(fmt::format("{}: {}: {}", recipe.doc->where(path), path, message));
  }
  static std::string versus(const std::string& here, const std::string& there) {
    return fmt::format("{} here, {} in the run reused", here, there);
  }
  void differs(const std::string& path, const std::string& here, const std::string& there, const std::string& why) {
    error(path, fmt::format("{} (reuse.run = {}); {}", versus(here, there), run, why));
  }

  // Every key of the plugin's own schema (the host's keys are compared by the caller). With
  // `readouts`, keys marked readout may differ: they are listed there instead.
  void compare_plugin(const PluginUse& here, const PluginUse& there, const std::string& why,
                      std::vector<std::string>* readouts = nullptr) {
    if (here.name() != there.name()) {
      differs(join(here.path, "name"), here.name(), there.name(), why);
      return;
    }
    for (const auto& spec : here.plugin->manifest->schema) {
      if (same_value(*here.params, *there.params, spec)) continue;
      const std::string path = join(here.path, spec.name), mine = value_text(*here.params, spec),
                        theirs = value_text(*there.params, spec);
      if (readouts && spec.readout)
        readouts->push_back(fmt::format("{}: {}", path, versus(mine, theirs)));
      else if (spec.readout)
        differs(path, mine, theirs,
                "a readout key may differ only on the top layer reused: the layers above it learnt from its output");
      else
        differs(path, mine, theirs, why);
    }
  }
};

// How many layers the run's model/ holds trained; -1 (and an error) when it holds no model.
std::int64_t layers_trained(const fs::path& dir, Checker& c) {
  const fs::path file = dir / "model" / "model.json";
  if (!fs::exists(file)) {
    c.error("reuse.run", fmt::format("{} holds no trained model ({} missing)", c.run, file.string()));
    return -1;
  }
  try {
    return nlohmann::json::parse(std::ifstream(file)).at("layers_trained").get<std::int64_t>();
  } catch (const std::exception& e) {
    c.error("reuse.run", fmt::format("{}: unreadable: {}", file.string(), e.what()));
    return -1;
  }
}

}  // namespace

const ParamSchema& reuse_schema() {
  static const ParamSchema schema = {
      spec::string("run", "", "run folder whose trained layers the recipe starts from").make_required(),
      spec::integer("layers", 0, "how many of its layers, from the bottom (0: every layer it trained, up to depth)")
          .at_least(0),
  };
  return schema;
}

void check_reuse(Recipe& recipe, const plugins::Registry& registry, std::vector<std::string>& errors) {
  auto& reuse = *recipe.reuse;
  const std::size_t before = errors.size();
  Checker c{recipe, reuse.run.string(), errors};
  const fs::path& dir = reuse.run;
  if (!fs::is_directory(dir)) {
    c.error("reuse.run", fmt::format("no such run folder: {}", c.run));
    return;
  }
  if (!fs::exists(dir / "recipe.resolved.yaml")) {
    c.error("reuse.run", fmt::format("{} is not a run folder (recipe.resolved.yaml missing)", c.run));
    return;
  }
  const std::int64_t trained = layers_trained(dir, c);
  if (trained < 0) return;

  // The run's recipe as `hebbkit evaluate` reads it: its stages do not matter here.
  Recipe there;
  try {
    there = resolve(load_with_stages(dir / "recipe.resolved.yaml", "evaluate", {}), registry,
                    StagesStart::TrainedModel);
  } catch (const RecipeError& e) {
    c.error("reuse.run", fmt::format("the recipe of {} no longer resolves: {}", c.run, e.what()));
    return;
  }

  reuse.same_seed = recipe.seed == there.seed;
  const auto available = std::min<std::size_t>(static_cast<std::size_t>(trained), recipe.layers.size());
  if (reuse.layers == 0) reuse.layers = available;
  if (reuse.layers == 0) {
    c.error("reuse.run", trained == 0 ? fmt::format("{} has no trained layer yet", c.run)
                                      : std::string("the recipe has no layer to take from it (depth or layers)"));
    return;
  }
  if (reuse.layers > recipe.layers.size())
    c.error("reuse.layers", fmt::format("{} layers to reuse, but the recipe builds {}", reuse.layers,
                                        recipe.layers.size()));
  if (reuse.layers > static_cast<std::size_t>(trained))
    c.error("reuse.layers", fmt::format("{} layers to reuse, but {} trained only {}", reuse.layers, c.run, trained));
  if (errors.size() != before) return;

  const std::string data_why = "its layers were trained on other images";
  c.compare_plugin(recipe.dataset, there.dataset, data_why);
  if (recipe.data.validation != there.data.validation)
    c.differs("dataset.validation", std::to_string(recipe.data.validation), std::to_string(there.data.validation),
              data_why);
  else if (recipe.data.validation > 0 && recipe.seed != there.seed)
    c.differs("seed", std::to_string(recipe.seed), std::to_string(there.seed),
              "the seed picks the validation split, so its layers were trained on this recipe's validation images");
  if (recipe.data.train_limit != there.data.train_limit)
    c.differs("dataset.train_limit", std::to_string(recipe.data.train_limit), std::to_string(there.data.train_limit),
              data_why);
  if (recipe.data.preprocess != there.data.preprocess)
    c.differs("dataset.preprocess", fmt::format("[{}]", fmt::join(recipe.data.preprocess, ", ")),
              fmt::format("[{}]", fmt::join(there.data.preprocess, ", ")), "its layers read other inputs");
  // The top layer reused may read out differently (activation, pooling): what it learnt does
  // not depend on that, and no layer reused learnt from its output.
  for (std::size_t i = 0; i < reuse.layers; ++i)
    c.compare_plugin(recipe.layers[i], there.layers[i], "only the layers the run trained can be reused",
                     i + 1 == reuse.layers ? &reuse.readouts : nullptr);
}

}  // namespace hebbkit::recipe
