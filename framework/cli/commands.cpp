#include "cli/commands.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hebbkit/errors.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"
#include "recipe/recipe.hpp"
#include "run/signals.hpp"

namespace hebbkit::cli {
namespace fs = std::filesystem;

namespace {

void report_plugin_problems(const plugins::Registry& registry) {
  for (const auto& problem : registry.problems()) fmt::print(stderr, "hebbkit: warning: {}\n", problem);
}

// Loads and resolves a recipe; prints the error and returns nullopt on a bad recipe.
std::optional<recipe::Recipe> load(const fs::path& file, const std::vector<std::string>& overrides) {
  const auto& registry = plugins::default_registry();
  report_plugin_problems(registry);
  try {
    return recipe::resolve(recipe::load(file, overrides), registry);
  } catch (const RecipeError& e) {
    fmt::print(stderr, "hebbkit: error: {}\n", e.what());
    return std::nullopt;
  }
}

void print_schema(const ParamSchema& schema) {
  for (const auto& spec : schema) {
    std::string fallback = spec.required ? "(required)" : spec.optional ? "(optional)" : spec.default_value;
    fmt::print("  {:<14} {:<17} {:<12} {}{}\n", spec.name, to_string(spec.type), fallback, spec.doc,
               spec.constraint_text().empty() ? "" : "  " + spec.constraint_text());
  }
}

}  // namespace

int run_recipe(const fs::path& file, const std::vector<std::string>& overrides, pipeline::RunOptions options) {
  auto recipe = load(file, overrides);
  if (!recipe) return 2;
  run::install_interrupt_handlers();
  try {
    const auto result = pipeline::execute(*recipe, options);
    fmt::print(stderr, "hebbkit: run {}: {}\n", result.status, result.dir.string());
    return result.exit_code;
  } catch (const RecipeError& e) {
    fmt::print(stderr, "hebbkit: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hebbkit: error: {}\n", e.what());
    return 1;
  }
}

int validate_recipe(const fs::path& file, const std::vector<std::string>& overrides) {
  auto recipe = load(file, overrides);
  if (!recipe) return 2;
  fmt::print("{}: ok — dataset {}, {} layer(s), head {}, {} stage(s)\n", file.string(),
             recipe->dataset.plugin->manifest->name, recipe->layers.size(), recipe->head.plugin->manifest->name,
             recipe->stages.size());
  return 0;
}

int list_plugins() {
  const auto& registry = plugins::default_registry();
  report_plugin_problems(registry);
  auto all = registry.plugins();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::make_pair(std::string(to_string(a.manifest->kind)), a.manifest->name) <
           std::make_pair(std::string(to_string(b.manifest->kind)), b.manifest->name);
  });
  fmt::print("{:<8} {:<16} {:<58} {}\n", "KIND", "NAME", "SUMMARY", "FILE");
  for (const auto& p : all)
    fmt::print("{:<8} {:<16} {:<58} {}\n", to_string(p.manifest->kind), p.manifest->name, p.manifest->summary,
               p.file.string());
  if (all.empty()) {
    fmt::print(stderr, "hebbkit: no plugins found; searched:\n");
    for (const auto& f : plugins::Registry::default_folders()) fmt::print(stderr, "  {}\n", f.string());
    return 1;
  }
  return 0;
}

int describe_plugin(const std::string& name) {
  const auto& registry = plugins::default_registry();
  report_plugin_problems(registry);
  std::vector<const plugins::Loaded*> matches;
  for (const auto& q : registry.plugins())
    if (q.manifest->name == name) matches.push_back(&q);
  if (matches.empty()) {
    std::vector<std::string> names;
    for (const auto& q : registry.plugins()) names.push_back(q.manifest->name);
    fmt::print(stderr, "hebbkit: error: no plugin named '{}'; available: {}\n", name, fmt::join(names, ", "));
    return 2;
  }
  // A rule and a head may share a name (krotov); describe them all.
  for (std::size_t i = 0; i < matches.size(); ++i) {
    const Manifest& m = *matches[i]->manifest;
    fmt::print("{}{} {} — {}\nfile: {}\n\nparameters:\n", i ? "\n" : "", to_string(m.kind), m.name, m.summary,
               matches[i]->file.string());
    if (m.schema.empty()) fmt::print("  (none)\n");
    print_schema(m.schema);
    if (m.kind == PluginKind::Dataset) {
      fmt::print("\nhost keys, accepted in every dataset node:\n");
      print_schema(recipe::data_options_schema());
    }
  }
  return 0;
}

int list_runs(const fs::path& folder) {
  if (!fs::is_directory(folder)) {
    fmt::print(stderr, "hebbkit: error: {}: no such folder\n", folder.string());
    return 2;
  }
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(folder))
    if (fs::exists(entry.path() / "manifest.json")) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  fmt::print("{:<44} {:<12} {:>9} {:>9}  {}\n", "RUN", "STATUS", "TEST ACC", "VAL ACC", "STARTED");
  for (const auto& dir : dirs) {
    nlohmann::json manifest, summary;
    try {
      manifest = nlohmann::json::parse(std::ifstream(dir / "manifest.json"));
      if (fs::exists(dir / "summary.json")) summary = nlohmann::json::parse(std::ifstream(dir / "summary.json"));
    } catch (const std::exception& e) {
      fmt::print("{:<44} unreadable: {}\n", dir.filename().string(), e.what());
      continue;
    }
    auto pct = [&](const char* key) {
      return summary.contains(key) ? fmt::format("{:.2f}%", 100 * summary[key].get<double>()) : std::string("-");
    };
    fmt::print("{:<44} {:<12} {:>9} {:>9}  {}\n", dir.filename().string(), manifest.value("status", "?"),
               pct("test_accuracy"), pct("val_accuracy"), manifest.value("started", "?"));
  }
  return 0;
}

}  // namespace hebbkit::cli
