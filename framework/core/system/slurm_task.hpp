#pragma once
// This process as one task of a Slurm job step (`srun hebbkit run ...`, or an sbatch script
// with --ntasks N calling srun): the rank, the number of tasks and where rank 0 is, from
// Slurm's environment. A data-parallel run meets there instead of starting processes itself.
#include <cstdint>
#include <optional>
#include <string>

namespace hebbkit::system {

struct SlurmTask {
  int rank = 0;                 ///< SLURM_PROCID
  int tasks = 1;                ///< SLURM_STEP_NUM_TASKS
  std::string first_host;       ///< the step's first node, where Slurm places task 0
  std::uint16_t port = 0;       ///< rank 0's rendezvous port (see slurm_task())
  int cpus_per_task = 0;        ///< SLURM_CPUS_PER_TASK; 0 when not set
  int local_rank = 0;           ///< SLURM_LOCALID: the task's place on its node (its GPU)
};

/// The task this process is, inside a job step of two or more tasks; nullopt elsewhere
/// (no Slurm, a batch script's own shell, a step of one task). The port is
/// HEBBKIT_RENDEZVOUS_PORT when set, else 29500 + (job id % 1000) x 16 + step id % 16, so
/// that the steps and jobs on one node meet on ports of their own. Throws
/// std::runtime_error naming the variable when Slurm's environment cannot be read.
std::optional<SlurmTask> slurm_task();

}  // namespace hebbkit::system
