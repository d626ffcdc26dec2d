#pragma once
// Runs a resolved recipe into a run folder: recipe -> model -> stages -> run folder.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "recipe/recipe.hpp"
#include "run/metric_watch.hpp"
#include "run/progress_display.hpp"
#include "run/run_records.hpp"

namespace hebbkit::pipeline {

/// Where the processes of a data-parallel run meet: rank 0's host and store port.
struct Rendezvous {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: a free one (`--nproc`: rank 0 tells the processes it starts)
  bool slurm = false;      ///< Slurm started every process (srun): rank 0 starts none
  /// This process's place among the run's processes on its node: on a machine with GPUs
  /// it takes GPU local_rank % count (NCCL wants one per process).
  int local_rank = 0;
};

struct RunOptions {
  std::filesystem::path out;         ///< run folder; empty: runs/<time>-<name>
  int threads = 0;                   ///< per process; 0: the available cores shared between the processes
  /// `hebbkit run --nproc N`: N processes on this machine train the run data-parallel
  /// (rank 0 is this one, and the only one writing the run folder).
  int processes = 1;
  Rendezvous rendezvous;
  std::string device = "cpu";        ///< cpu, cuda or auto
  run::ProgressStyle progress = run::ProgressStyle::Lines;
  std::vector<std::string> command_line;
  /// `hebbkit evaluate`: a finished run whose trained model the stages start from; the
  /// new run folder records it as its parent.
  std::filesystem::path reopen;
  /// `hebbkit run --resume`: continue the unfinished run in `out` from its checkpoint.
  bool resume = false;
  /// Sees every metric; a reason returned stops the run with status "pruned" (sweeps).
  run::MetricWatch watch;
};

struct RunResult {
  std::filesystem::path dir;
  run::RunStatus status = run::RunStatus::Running;  ///< completed, interrupted, failed or pruned
  int exit_code = 0;   ///< 0 completed or pruned, 1 failed at run time, 2 bad recipe or data options, 130 interrupted
  std::string error;   ///< why it failed or stopped; "" when completed
  /// run_or_continue found the run finished before (status says how) and ran nothing.
  bool already_finished = false;
  /// How to try again after a failure or interruption: `hebbkit run --resume DIR` for a
  /// run; for an `evaluate` folder (which is not resumed) its own command again.
  std::string retry;
};

/// What one of the other processes of a data-parallel run is told by rank 0
/// (`hebbkit run-rank`).
struct RankOptions {
  std::filesystem::path run_dir;
  int rank = 1, processes = 2;
  Rendezvous rendezvous;
  int threads = 1;
  std::string device = "cpu";
  bool resume = false;  ///< continue from the run's model/ (rank 0 resumes)
  /// A sweep trial's task: continue when the run folder holds a model at the moment of
  /// joining (rank 0 then continues the trial; it writes none before all have joined).
  bool continue_if_saved = false;
  /// A Slurm task's own recipe and overrides (checked to agree with rank 0's); empty: the
  /// run folder's recipe.resolved.yaml, which rank 0 wrote before starting this process.
  std::filesystem::path recipe;
  std::vector<std::string> overrides;
};

/// A rank's own folder inside the run folder: its log, metrics and console output.
std::filesystem::path rank_folder(const std::filesystem::path& run_dir, int rank);

/// One of the other processes of a data-parallel run: joins rank 0, agrees with it on the
/// build and the recipe (run_facts), trains and evaluates alongside it (the stages that
/// every rank runs) and writes only rank_folder(). `recipe` is resolved after joining, when
/// rank 0 has written the run folder. Returns the exit code, as a run's.
int execute_rank(const std::function<recipe::Recipe()>& recipe, const RankOptions& options);

/// What every process of a data-parallel run must share: hebbkit's version and commit, the
/// resolved recipe's digest, each plugin library's.
std::vector<std::pair<std::string, std::string>> run_facts(const recipe::Recipe& recipe);

/// Executes `recipe` (see lifecycle.hpp for the ways a run begins). Errors after the run folder exists are recorded there (status
/// "failed" with the message) and returned, not thrown; everything written stays.
RunResult execute(const recipe::Recipe& recipe, const RunOptions& options);

}  // namespace hebbkit::pipeline
