#include "cli/commands.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"
#include "recipe/recipe.hpp"
#include "recipe/schema_check.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"
#include "run/signals.hpp"
#include "recipe/stage_catalog.hpp"
#include "sweep/sweep.hpp"
#include "system/system_info.hpp"

namespace hebbkit::cli {
namespace fs = std::filesystem;
using nlohmann::json;
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
std::optional<recipe::Recipe> resolve(const std::function<recipe::Document()>& load,
                                      recipe::StagesStart start = recipe::StagesStart::Fresh) {
  const auto& registry = plugins::default_registry();
  report_plugin_problems(registry);
  try {
    return recipe::resolve(load(), registry, start);
  } catch (const RecipeError& e) {
    error(e.what());
    return std::nullopt;
  }
}

int run_and_report(const recipe::Recipe& recipe, const pipeline::RunOptions& options) {
  run::install_interrupt_handlers();
  try {
    const auto result = pipeline::execute(recipe, options);
    const std::string dir = result.dir.string();
    if (result.status == run::RunStatus::Completed) {
      fmt::print(stderr, "hebbkit: run completed: {}\n", dir);
    } else if (result.status == run::RunStatus::Pruned) {
      fmt::print(stderr, "hebbkit: run pruned: {} ({})\n", result.error, dir);
    } else if (result.status == run::RunStatus::Interrupted) {
      fmt::print(stderr, "hebbkit: run interrupted: {} — continue it with `hebbkit run --resume {}`\n", dir, dir);
    } else {
      // One line: what failed, where, and what to do.
      const std::string next = result.exit_code == 2 ? "fix the recipe or its data options and run it again"
                                                     : fmt::format("fix the cause, then `hebbkit run --resume {}`", dir);
      fmt::print(stderr, "hebbkit: error: run failed: {} (run folder {}; {})\n", result.error, dir, next);
    }
    return result.exit_code;
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

// Checks that `dir` is a run folder; returns its manifest or prints why not.
std::optional<run::RunManifest> run_folder(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    error(fmt::format("{}: no such run folder", dir.string()));
    return std::nullopt;
  }
  for (const char* file : {"manifest.json", "recipe.resolved.yaml"})
    if (!fs::exists(dir / file)) {
      error(fmt::format("{}: not a run folder ({} missing)", dir.string(), file));
      return std::nullopt;
    }
  std::string why;
  auto manifest = read_manifest(dir, why);
  if (!manifest) error(fmt::format("{}: {}", dir.string(), why));
  return manifest;
}

}  // namespace

int run_recipe(const fs::path& file, const std::vector<std::string>& overrides, pipeline::RunOptions options) {
  auto recipe = resolve([&] { return recipe::load(file, overrides); });
  if (!recipe) return 2;
  return run_and_report(*recipe, options);
}

int resume_run(const fs::path& dir, const std::vector<std::string>& overrides, pipeline::RunOptions options) {
  const auto manifest = run_folder(dir);
  if (!manifest) return 2;
  if (!overrides.empty())
    return error(fmt::format("--resume {}: --set cannot change a run being resumed; it continues its own "
                             "recipe.resolved.yaml (start a new run to change it)", dir.string()));
  if (!options.out.empty() && fs::absolute(options.out).lexically_normal() != fs::absolute(dir).lexically_normal())
    return error(fmt::format("--resume {}: --out cannot be given, the run continues in its own folder", dir.string()));
  const auto status = manifest->live_status();
  if (status == run::RunStatus::Completed)
    return error(fmt::format("{}: the run completed; there is nothing to resume", dir.string()));
  if (status == run::RunStatus::Running)
    return error(fmt::format("{}: the run is still running (pid {} on {}); stop it first", dir.string(), manifest->pid,
                             manifest->host));
  // The same thread count gives the same numbers; keep the run's unless told otherwise.
  if (options.threads == 0 && manifest->threads > 0) options.threads = static_cast<int>(manifest->threads);
  auto recipe = resolve([&] { return recipe::load(dir / "recipe.resolved.yaml"); });
  if (!recipe) return 2;
  options.out = dir;
  options.resume = true;
  return run_and_report(*recipe, options);
}

int evaluate_run(const fs::path& dir, const std::string& stages, const std::vector<std::string>& overrides,
                 pipeline::RunOptions options) {
  const auto manifest = run_folder(dir);
  if (!manifest) return 2;
  if (!fs::exists(dir / "model" / "model.json"))
    return error(fmt::format("{}: holds no saved model (model/model.json missing): it was not trained, or by a "
                             "hebbkit before 0.2",
                             dir.string()));
  auto recipe = resolve([&] { return recipe::load_with_stages(dir / "recipe.resolved.yaml", stages, overrides); },
                        recipe::StagesStart::TrainedModel);
  if (!recipe) return 2;
  options.reopen = dir;
  if (options.out.empty())
    options.out = run::RunStore::new_run_dir("runs", io::file_safe(recipe->name) + "-evaluate");
  return run_and_report(*recipe, options);
}

int sweep_trial(const fs::path& sweep_dir, std::size_t id, pipeline::RunOptions options) {
  std::optional<sweep::TrialRun> trial;
  try {
    trial = sweep::prepare_trial(sweep_dir, id);
  } catch (const RecipeError& e) {
    return error(e.what());
  } catch (const std::exception& e) {
    return error(e.what(), 1);
  }
  options.out = trial->out;
  options.watch = trial->watch;
  if (fs::exists(trial->out / "manifest.json")) {
    std::string why;
    const auto manifest = read_manifest(trial->out, why);
    const auto status = manifest ? std::optional<run::RunStatus>(manifest->live_status()) : std::nullopt;
    if (status && is_final(*status)) {
      fmt::print(stderr, "hebbkit: trial {} already {}; nothing to do\n", trial->out.string(), to_string(*status));
      return 0;
    }
    if (status == run::RunStatus::Running)
      return error(fmt::format("{}: the trial is running (pid {} on {})", trial->out.string(), manifest->pid,
                               manifest->host), 1);
    options.resume = true;  // interrupted or killed: continue from its checkpoint
  }
  auto recipe = resolve([&] { return std::move(trial->doc); });
  if (!recipe) return 2;
  return run_and_report(*recipe, options);
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
    fmt::print("{:<44} {:<12} {:>9} {:>9}  {}\n", shown, to_string(manifest->live_status()),
               pct(summary.test_accuracy), pct(summary.val_accuracy), manifest->started);
  }
  return 0;
}

}  // namespace hebbkit::cli
