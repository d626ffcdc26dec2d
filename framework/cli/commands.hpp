#pragma once
// The `hebbkit` subcommands. Each returns the process exit code:
// 0 ok, 1 runtime failure, 2 bad recipe or arguments, 130 interrupted.
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"

namespace hebbkit::cli {

int run_recipe(const std::filesystem::path& recipe, const std::vector<std::string>& overrides,
               pipeline::RunOptions options);
/// `run --resume DIR`: the run's own recipe.resolved.yaml, its threads unless given.
int resume_run(const std::filesystem::path& run_dir, const std::vector<std::string>& overrides,
               pipeline::RunOptions options);
/// `evaluate DIR`: the run's recipe with `stages` (comma list or YAML list) and overrides,
/// on the run's reopened model, into a new run folder.
int evaluate_run(const std::filesystem::path& run_dir, const std::string& stages,
                 const std::vector<std::string>& overrides, pipeline::RunOptions options);
/// `sweep-trial DIR ID`: one trial of a sweep into DIR/trials/ID (a worker's or a Slurm
/// task's command); continues the trial if it was stopped, does nothing if it finished.
int sweep_trial(const std::filesystem::path& sweep_dir, std::size_t id, pipeline::RunOptions options);
/// `run-rank DIR K`: one of the other processes of a data-parallel run (what rank 0
/// starts for `run --nproc N`).
int run_rank(const pipeline::RankOptions& options);
int validate_recipe(const std::filesystem::path& recipe, const std::vector<std::string>& overrides);
int list_plugins();
/// A plugin's or a stage's parameters.
int describe(const std::string& name);
int list_runs(const std::filesystem::path& folder);
/// Several runs side by side: shared training and attack charts, a table (terminal, CSV,
/// markdown) in `out` (default runs/<time>-compare).
int compare_runs(const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& out);
/// `hebbkit report PATH...`: writes the HTML page and prints its path.
int write_report(const std::vector<std::filesystem::path>& paths, const std::filesystem::path& out);

}  // namespace hebbkit::cli
