#pragma once
// `hebbkit sweep`: runs a recipe's trials over a search space into one folder, locally or
// on Slurm, and can be run again to continue where it stopped.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "recipe/document.hpp"
#include "run/metric_watch.hpp"
#include "sweep/spec.hpp"

namespace hebbkit::sweep {

struct DriveOptions {
  std::filesystem::path out;               ///< default runs/<recipe name>-sweep
  std::string executor = "local";          ///< local or slurm
  int threads = 0;                         ///< per trial; 0: the cores split between the jobs
  int tasks = 1;                           ///< Slurm tasks per trial: each trains data-parallel in them
  std::vector<std::string> sbatch_args;    ///< passed to sbatch as they are
  double poll_seconds = 5;                 ///< how often Slurm is asked
  double slurm_timeout = 60;               ///< seconds for one sbatch, squeue or scancel
  double slurm_stuck = 3600;               ///< a task waiting longer in the queue is given up (0: never)
  std::vector<std::string> command_line;
};

/// Runs (or continues) the sweep; returns the exit code: 0 when every trial ended
/// (failed trials included), 2 for a bad recipe or sweep, 1 when the sweep could not go
/// on or had to give trials up (stuck in Slurm's queue), 130 when interrupted.
int drive(const std::filesystem::path& recipe, const std::vector<std::string>& overrides, const CommandLine& cli,
          const DriveOptions& options);

/// One trial as its worker runs it: the recipe document, its run folder, and the
/// pruner to watch its metrics with (empty when the sweep does not prune).
struct TrialRun {
  recipe::Document doc;
  std::filesystem::path out;
  run::MetricWatch watch;
};
/// Throws RecipeError for a folder that is not a sweep or an unknown trial.
TrialRun prepare_trial(const std::filesystem::path& sweep_dir, std::size_t id);

/// `hebbkit sweep-trial DIR ID` (a worker's or a Slurm task's command): trial `id` into
/// DIR/trials/ID, continued if it was stopped, left alone if it finished
/// (pipeline::run_or_continue).
pipeline::RunResult run_trial(const std::filesystem::path& sweep_dir, std::size_t id, pipeline::RunOptions options);

}  // namespace hebbkit::sweep
