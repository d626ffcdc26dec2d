#pragma once
// Runs a resolved recipe into a run folder: data, then each stage in order.
#include <filesystem>
#include <string>
#include <vector>

#include "recipe/recipe.hpp"
#include "run/progress_display.hpp"

namespace hebbkit::pipeline {

struct RunOptions {
  std::filesystem::path out;         ///< run folder; empty: runs/<time>-<name>
  int threads = 0;                   ///< 0: every available core
  std::string device = "cpu";        ///< cpu, cuda or auto
  run::ProgressStyle progress = run::ProgressStyle::Lines;
  std::vector<std::string> command_line;
};

struct RunResult {
  std::filesystem::path dir;
  std::string status;  ///< completed, interrupted, failed
  int exit_code = 0;   ///< 0, 130 (interrupted), 1 (failed)
};

/// Executes `recipe`. Errors after the run folder exists are recorded there (status
/// "failed" with the message) and returned, not thrown; everything written stays.
RunResult execute(recipe::Recipe& recipe, const RunOptions& options);

/// cpu / cuda / auto -> a device; "cuda" without CUDA is an error naming the build.
torch::Device select_device(const std::string& name);

}  // namespace hebbkit::pipeline
