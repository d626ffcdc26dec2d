#pragma once
// The ways a run begins, and the rules for each: a new run, a stopped run continued, a
// finished run's model evaluated into a new run, and a run that continues where it stopped
// or does nothing when it finished (a sweep trial). The CLI parses arguments and prints what
// these return; everything in between is here.
//
// Before a run folder exists, a bad recipe or an unusable folder throws RecipeError (exit
// code 2) and anything else std::exception (1); afterwards what goes wrong is recorded in the
// folder and returned (pipeline::execute).
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"

namespace hebbkit::pipeline {

/// `hebbkit run RECIPE`: a new run folder (options.out, or runs/<time>-<name>). With
/// options.processes > 1, refuses a recipe whose rules or head cannot train data-parallel.
RunResult start_run(const std::filesystem::path& recipe, const std::vector<std::string>& overrides,
                    RunOptions options);

/// `hebbkit run --resume DIR`: continues the run's own recipe.resolved.yaml from its
/// checkpoint, with its thread count unless options.threads says otherwise. Refuses a run
/// that completed or is still running, and --set or another --out.
RunResult resume_run(const std::filesystem::path& dir, const std::vector<std::string>& overrides, RunOptions options);

/// `hebbkit evaluate DIR`: the run's recipe with `stages` (comma list or YAML list) and
/// overrides, on its reopened trained model, into a new run folder (default
/// runs/<time>-<name>-evaluate) that records DIR as its parent.
RunResult evaluate_run(const std::filesystem::path& dir, const std::string& stages,
                       const std::vector<std::string>& overrides, RunOptions options);

/// `hebbkit run-rank DIR K`, or a Slurm task other than 0 of `srun hebbkit run`: one of the
/// other processes of the data-parallel run in DIR (execute_rank). Returns the exit code.
int run_rank(const RankOptions& options);

/// `doc` run into options.out: started when the folder has no run, continued when it was
/// interrupted or killed, left alone when it finished (RunResult::already_finished); a run
/// still going there is an error (std::runtime_error).
RunResult run_or_continue(recipe::Document doc, RunOptions options);

}  // namespace hebbkit::pipeline
