#include "cli/slurm_tasks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "system/slurm_task.hpp"

namespace hebbkit::cli {

std::optional<int> as_slurm_task(const SlurmStart& start, bool named_folder, pipeline::RunOptions& options) {
  std::optional<system::SlurmTask> task;
  try {
    task = system::slurm_task();
  } catch (const std::exception& e) {
    fmt::print(stderr, "hebbkit: error: {}\n", e.what());
    return 2;
  }
  if (!task) return std::nullopt;
  if (options.processes > 1) {
    fmt::print(stderr, "hebbkit: error: --nproc: under srun the {} tasks are the processes; leave --nproc out\n",
               task->tasks);
    return 2;
  }
  if (!named_folder) {
    fmt::print(stderr, "hebbkit: error: under srun with {} tasks, give --out DIR: every task must name the same run "
                       "folder\n", task->tasks);
    return 2;
  }
  options.processes = task->tasks;
  options.rendezvous = {task->first_host, task->port, /*slurm=*/true, task->local_rank};
  if (options.threads == 0) options.threads = std::max(1, task->cpus_per_task);  // --cpus-per-task, else 1
  if (task->rank == 0) return std::nullopt;
  pipeline::RankOptions rank;
  rank.run_dir = start.run_dir;
  rank.rank = task->rank;
  rank.processes = task->tasks;
  rank.rendezvous = options.rendezvous;
  rank.threads = options.threads;
  rank.device = options.device;
  rank.resume = start.resume;
  rank.continue_if_saved = start.continue_if_saved;
  rank.recipe = start.recipe;
  rank.overrides = start.overrides;
  return run_rank(rank);
}

}  // namespace hebbkit::cli
