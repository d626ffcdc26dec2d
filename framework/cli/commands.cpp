#include "cli/commands.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
#include "pipeline/lifecycle.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"
#include "recipe/recipe.hpp"
#include "recipe/schema_check.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"
#include "recipe/stage_catalog.hpp"
#include "sweep/sweep.hpp"
#include "system/system_info.hpp"

namespace hebbkit::cli {
namespace fs = std::filesystem;
using run::read_manifest;

namespace {

void report_plugin_problems(const plugins::Registry& registry) {
  for (const auto& problem : registry.problems()) fmt::print(stderr, "hebbkit: warning: {}\n", problem);
}

int error(const std::string& message, int code = 2) {
  fmt::print(stderr, "hebbkit: error: {}\n", message);
  return code;
}

// Resolves a loaded document; prints the error and returns nullopt on a bad recipe.
std::optional<recipe::Recipe> resolve(const std::function<recipe::Document()>& load) {
  const auto& registry = plugins::default_registry();
  report_plugin_problems(registry);
  try {
    return recipe::resolve(load(), registry);
  } catch (const RecipeError& e) {
    error(e.what());
    return std::nullopt;
  }
}

// Runs one of the lifecycle's ways into a run (pipeline/lifecycle.hpp) and says how it ended.
int run_and_report(const std::function<pipeline::RunResult()>& start) {
  report_plugin_problems(plugins::default_registry());
  try {
    const auto result = start();
    const std::string dir = result.dir.string();
    if (result.already_finished) {
      fmt::print(stderr, "hebbkit: {} already {}; nothing to do\n", dir, to_string(result.status));
    } else if (result.status == run::RunStatus::Completed) {
      fmt::print(stderr, "hebbkit: run completed: {}\n", dir);
    } else if (result.status == run::RunStatus::Pruned) {
      fmt::print(stderr, "hebbkit: run pruned: {} ({})\n", result.error, dir);
    } else if (result.status == run::RunStatus::Interrupted) {
      fmt::print(stderr, "hebbkit: run interrupted: {} — continue it with `{}`\n", dir, result.retry);
    } else {
      // One line: what failed, where, and what to do.
      const std::string next = result.exit_code == 2 ? "fix the recipe or its data options and run it again"
                                                     : fmt::format("fix the cause, then `{}`", result.retry);
      fmt::print(stderr, "hebbkit: error: run failed: {} (run folder {}; {})\n", result.error, dir, next);
    }
    if (fs::exists(result.dir / "report.html")) fmt::print(stderr, "hebbkit: report: {}\n", (result.dir / "report.html").string());
    return result.already_finished ? 0 : result.exit_code;
  } catch (const RecipeError& e) {
    return error(e.what(), 2);
  } catch (const std::exception& e) {
    return error(e.what(), 1);
  }
}

void print_schema(const ParamSchema& schema) {
  for (const auto& spec : schema) {
    std::string fallback = spec.required ? "(required)" : spec.optional ? "(optional)" : spec.default_value;
    fmt::print("  {:<14} {:<17} {:<12} {}{}{}\n", spec.name, to_string(spec.type), fallback, spec.doc,
               spec.constraint_text().empty() ? "" : "  " + spec.constraint_text(),
               spec.readout ? "  (readout: may differ on a reused top layer)" : "");
  }
}

}  // namespace

int run_recipe(const fs::path& file, const std::vector<std::string>& overrides, pipeline::RunOptions options) {
  return run_and_report([&] { return pipeline::start_run(file, overrides, options); });
}

int resume_run(const fs::path& dir, const std::vector<std::string>& overrides, pipeline::RunOptions options) {
  return run_and_report([&] { return pipeline::resume_run(dir, overrides, options); });
}

int evaluate_run(const fs::path& dir, const std::string& stages, const std::vector<std::string>& overrides,
                 pipeline::RunOptions options) {
  return run_and_report([&] { return pipeline::evaluate_run(dir, stages, overrides, options); });
}

int sweep_trial(const fs::path& sweep_dir, std::size_t id, pipeline::RunOptions options) {
  return run_and_report([&] { return sweep::run_trial(sweep_dir, id, options); });
}

int run_rank(const pipeline::RankOptions& options) {
  try {
    return pipeline::run_rank(options);
  } catch (const RecipeError& e) {
    return error(e.what(), 2);
  } catch (const std::exception& e) {
    return error(e.what(), 1);
  }
}

int validate_recipe(const fs::path& file, const std::vector<std::string>& overrides) {
  auto recipe = resolve([&] { return recipe::load(file, overrides); });
  if (!recipe) return 2;
  if (recipe->doc->root["sweep"]) {
    recipe::Document doc = *recipe->doc;
    doc.root = YAML::Clone(doc.root);
    try {
      const auto spec = sweep::make_spec(doc, {}, recipe->seed);
      fmt::print("{}: sweep: {} over {} parameter(s)\n", file.string(), spec.strategy, spec.params.size());
    } catch (const RecipeError& e) {
      return error(e.what());
    }
  }
  fmt::print("{}: ok — dataset {}, {} layer(s), head {}, {} stage(s)\n", file.string(), recipe->dataset.name(),
             recipe->layers.size(), recipe->head.name(), recipe->stages.size());
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

int describe(const std::string& name) {
  const auto& registry = plugins::default_registry();
  report_plugin_problems(registry);
  std::vector<const plugins::Loaded*> matches;
  for (const auto& q : registry.plugins())
    if (q.manifest->name == name) matches.push_back(&q);
  const stages::StageType* stage = stages::find(name);
  if (matches.empty() && !stage) {
    std::vector<std::string> names;
    for (const auto& q : registry.plugins())
      names.push_back(fmt::format("{} ({})", q.manifest->name, to_string(q.manifest->kind)));
    std::vector<std::string> plain;
    for (const auto& q : registry.plugins()) plain.push_back(q.manifest->name);
    for (const auto& s : stages::names()) plain.push_back(s);
    return error(fmt::format("no plugin or stage named '{}'{}; plugins: {}; stages: {}", name,
                             recipe::suggestion(name, plain), fmt::join(names, ", "), fmt::join(stages::names(), ", ")));
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
  if (stage) {
    fmt::print("{}stage {} — {}\n\nparameters:\n", matches.empty() ? "" : "\n", stage->name, stage->summary);
    if (stage->schema.empty()) fmt::print("  (none)\n");
    print_schema(stage->schema);
    if (stage->plugin) fmt::print("  (and the {} plugin's own: `hebbkit plugins`)\n", to_string(*stage->plugin));
  }
  return 0;
}

int list_runs(const fs::path& folder) {
  if (!fs::is_directory(folder)) return error(fmt::format("{}: no such folder", folder.string()));
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(folder))
    if (fs::exists(entry.path() / "manifest.json")) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  fmt::print("{:<44} {:<12} {:>9} {:>9}  {}\n", "RUN", "STATUS", "TEST ACC", "VAL ACC", "STARTED");
  for (const auto& dir : dirs) {
    std::string why;
    const auto manifest = read_manifest(dir, why);
    if (!manifest) {
      fmt::print("{:<44} unreadable: {}\n", dir.filename().string(), why);
      continue;
    }
    std::string unreadable;
    const auto summary = run::read_summary(dir, unreadable).value_or(run::RunSummary{});
    const auto pct = [&](const std::optional<double>& value) {
      if (!unreadable.empty()) return std::string("?");
      return value ? fmt::format("{:.2f}%", 100 * *value) : std::string("-");
    };
    std::string shown = dir.filename().string();
    if (manifest->kind == run::FolderKind::Sweep) shown += fmt::format(" [sweep, {} trials]", summary.trials);
    fmt::print("{:<44} {:<12} {:>9} {:>9}  {}\n", shown, to_string(manifest->live_status(dir)),
               pct(summary.test_accuracy), pct(summary.val_accuracy), manifest->started);
  }
  return 0;
}

}  // namespace hebbkit::cli
