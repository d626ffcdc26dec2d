#pragma once
// `srun hebbkit run ...` and `srun hebbkit sweep-trial ...`: every Slurm task runs the same
// command. Task 0 is the run (its options name the other tasks); the others are its ranks.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"

namespace hebbkit::cli {

/// What a task needs to join the run as one of its ranks.
struct SlurmStart {
  std::filesystem::path run_dir;       ///< the run folder every task names
  std::filesystem::path recipe;        ///< `run RECIPE`'s; empty: the folder's recipe.resolved.yaml
  std::vector<std::string> overrides;
  bool resume = false;                 ///< `run --resume`
  bool continue_if_saved = false;      ///< a sweep trial: continue when the folder holds a model
};

/// Outside a Slurm step of several tasks: nullopt, nothing changed. Task 0: `options` get
/// the processes and the rendezvous, nullopt (the caller runs it). Another task: runs its
/// rank and returns the exit code; so does a refusal (2: --nproc given, or no run folder
/// named when `named_folder` is false).
std::optional<int> as_slurm_task(const SlurmStart& start, bool named_folder, pipeline::RunOptions& options);

}  // namespace hebbkit::cli
