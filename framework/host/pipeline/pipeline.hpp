#pragma once
// Runs a resolved recipe into a run folder: recipe -> model -> stages -> run folder.
#include <filesystem>
#include <string>
#include <vector>

#include "recipe/recipe.hpp"
#include "run/metric_watch.hpp"
#include "run/progress_display.hpp"
#include "run/run_records.hpp"

namespace hebbkit::pipeline {

struct RunOptions {
  std::filesystem::path out;         ///< run folder; empty: runs/<time>-<name>
  int threads = 0;                   ///< 0: every available core
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

/// Executes `recipe` (see lifecycle.hpp for the ways a run begins). Errors after the run folder exists are recorded there (status
/// "failed" with the message) and returned, not thrown; everything written stays.
RunResult execute(const recipe::Recipe& recipe, const RunOptions& options);

}  // namespace hebbkit::pipeline
