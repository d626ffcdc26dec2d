#include "pipeline/lifecycle.hpp"

#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
#include "hebbkit/head.hpp"
#include "hebbkit/rule.hpp"
#include "plugins/registry.hpp"
#include "recipe/document.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"
#include "run/signals.hpp"

namespace hebbkit::pipeline {
namespace fs = std::filesystem;

namespace {

recipe::Recipe resolved(recipe::Document doc, recipe::StagesStart start = recipe::StagesStart::Fresh) {
  return recipe::resolve(std::move(doc), plugins::default_registry(), start);
}

// `--nproc N`: every plugin that trains must say it trains the same in N processes.
void check_data_parallel(const recipe::Recipe& recipe, int processes) {
  if (processes <= 1) return;
  std::vector<std::string> refused;
  const std::size_t reused = recipe.reuse ? static_cast<std::size_t>(recipe.reuse->layers) : 0;
  for (std::size_t i = reused; i < recipe.layers.size(); ++i)
    if (const auto why = recipe.layers[i].make<Rule>()->why_not_data_parallel(); !why.empty())
      refused.push_back(fmt::format("layers.{}.rule ({}): {}", i, recipe.layers[i].name(), why));
  if (const auto why = recipe.head.make<Head>()->why_not_data_parallel(); !why.empty())
    refused.push_back(fmt::format("head ({}): {}", recipe.head.name(), why));
  if (!refused.empty())
    throw RecipeError(fmt::format("{} processes: the recipe cannot train data-parallel:\n  {}\nrun it in one "
                                  "process (without --nproc, or with one Slurm task)",
                                  processes, fmt::join(refused, "\n  ")));
}

RunResult execute_here(const recipe::Recipe& recipe, const RunOptions& options) {
  check_data_parallel(recipe, options.processes);
  run::install_interrupt_handlers();
  return execute(recipe, options);
}

// The manifest of the run folder `dir`; RecipeError when `dir` is not one.
run::RunManifest existing_run(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw RecipeError(fmt::format("{}: no such run folder", dir.string()));
  for (const char* file : {"manifest.json", "recipe.resolved.yaml"})
    if (!fs::exists(dir / file))
      throw RecipeError(fmt::format("{}: not a run folder ({} missing)", dir.string(), file));
  std::string why;
  auto manifest = run::read_manifest(dir, why);
  if (!manifest) throw RecipeError(fmt::format("{}: {}", dir.string(), why));
  return std::move(*manifest);
}

}  // namespace

RunResult start_run(const fs::path& recipe, const std::vector<std::string>& overrides, RunOptions options) {
  return execute_here(resolved(recipe::load(recipe, overrides)), options);
}

RunResult resume_run(const fs::path& dir, const std::vector<std::string>& overrides, RunOptions options) {
  const auto manifest = existing_run(dir);
  if (!overrides.empty())
    throw RecipeError(fmt::format("--resume {}: --set cannot change a run being resumed; it continues its own "
                                  "recipe.resolved.yaml (start a new run to change it)",
                                  dir.string()));
  if (!options.out.empty() && fs::absolute(options.out).lexically_normal() != fs::absolute(dir).lexically_normal())
    throw RecipeError(
        fmt::format("--resume {}: --out cannot be given, the run continues in its own folder", dir.string()));
  if (manifest.parent)
    throw RecipeError(fmt::format("{}: made by `hebbkit evaluate` on {}; an evaluate folder is not resumed — run the "
                                  "evaluation again into a new folder: {}",
                                  dir.string(), *manifest.parent,
                                  manifest.command_line.empty() ? "hebbkit evaluate " + *manifest.parent
                                                                : fmt::format("{}", fmt::join(manifest.command_line, " "))));
  const auto status = manifest.live_status(dir);
  if (status == run::RunStatus::Completed)
    throw RecipeError(fmt::format("{}: the run completed; there is nothing to resume", dir.string()));
  if (status == run::RunStatus::Running)
    throw RecipeError(fmt::format("{}: the run is still running (pid {} on {}); stop it first", dir.string(),
                                  manifest.pid, manifest.host));
  // The same thread count gives the same numbers; keep the run's unless told otherwise.
  if (options.threads == 0 && manifest.threads > 0) options.threads = static_cast<int>(manifest.threads);
  const auto recipe = resolved(recipe::load(dir / "recipe.resolved.yaml"));
  options.out = dir;
  options.resume = true;
  return execute_here(recipe, options);
}

RunResult evaluate_run(const fs::path& dir, const std::string& stages, const std::vector<std::string>& overrides,
                       RunOptions options) {
  const auto manifest = existing_run(dir);
  // Its model/ changes under a process still training it.
  if (manifest.live_status(dir) == run::RunStatus::Running)
    throw RecipeError(fmt::format("{}: the run is still running (pid {} on {}); evaluate it when it has ended",
                                  dir.string(), manifest.pid, manifest.host));
  if (!fs::exists(dir / "model" / "model.json"))
    throw RecipeError(fmt::format("{}: holds no saved model (model/model.json missing): it was not trained, or by a "
                                  "hebbkit before 0.2",
                                  dir.string()));
  const auto recipe = resolved(recipe::load_with_stages(dir / "recipe.resolved.yaml", stages, overrides),
                               recipe::StagesStart::TrainedModel);
  if (options.processes > 1)
    throw RecipeError(fmt::format("evaluate {}: --nproc is for training; evaluate runs in one process", dir.string()));
  options.reopen = dir;
  if (options.out.empty()) options.out = run::RunStore::new_run_dir("runs", io::file_safe(recipe.name) + "-evaluate");
  return execute_here(recipe, options);
}

RunResult run_or_continue(recipe::Document doc, RunOptions options) {
  const fs::path& dir = options.out;
  if (fs::exists(dir / "manifest.json")) {
    std::string why;
    const auto manifest = run::read_manifest(dir, why);
    const auto status = manifest ? manifest->live_status(dir) : run::RunStatus::Killed;  // unreadable: run it again
    if (is_final(status)) {
      RunResult result;
      result.dir = dir;
      result.status = status;
      result.already_finished = true;
      return result;
    }
    if (status == run::RunStatus::Running)
      throw std::runtime_error(
          fmt::format("{}: the run is still going (pid {} on {})", dir.string(), manifest->pid, manifest->host));
    options.resume = true;  // interrupted or killed: continue from its checkpoint
  }
  return execute_here(resolved(std::move(doc)), options);
}

int run_rank(const RankOptions& options) {
  run::install_interrupt_handlers();
  const auto load = [&] {
    if (!options.recipe.empty()) return resolved(recipe::load(options.recipe, options.overrides));
    return resolved(recipe::load(options.run_dir / "recipe.resolved.yaml"));
  };
  // A Slurm task names the recipe itself: one that cannot train data-parallel is refused
  // here at once, as task 0 refuses it, instead of waiting for a task 0 that never joins.
  // One this task cannot read is told to the others after joining (execute_rank), which
  // reads it once more only then.
  std::optional<recipe::Recipe> early;
  if (!options.recipe.empty()) {
    try {
      early = load();
    } catch (const std::exception&) {
    }
    if (early) check_data_parallel(*early, options.processes);
  }
  return execute_rank([&] { return early ? std::move(*early) : load(); }, options);
}

}  // namespace hebbkit::pipeline
