#pragma once
// Where trials run. Each trial is `hebbkit sweep-trial SWEEP_DIR ID` in a process of its
// own, so a crashing trial cannot take the sweep down, and the same command serves local
// workers and Slurm array tasks. Workers get OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads
// that spin would steal the other workers' cores.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sweep/folder.hpp"

namespace hebbkit::sweep {

struct Ended {
  std::size_t id;
  std::string how;  ///< "" for a normal end; else how the process ended, for a trial without a result
  /// The executor gave the trial up (stuck in Slurm's queue, a queue it could not read): it is
  /// failed, and the sweep ends with a non-zero exit code.
  bool abandoned = false;
};

class Executor {
 public:
  virtual ~Executor() = default;
  /// Trials that may be in flight at once.
  virtual std::size_t capacity() const = 0;
  virtual std::size_t in_flight() const = 0;
  /// Starts these trials (Slurm: one job array).
  virtual void launch(const std::vector<std::size_t>& ids) = 0;
  /// Waits up to about `seconds` and returns the trials whose process ended.
  virtual std::vector<Ended> wait(double seconds) = 0;
  /// Asks every trial in flight to stop (each keeps its checkpoint) and waits for them.
  virtual void stop() = 0;
};

struct WorkerCommand {
  std::filesystem::path exe;  ///< this hebbkit
  Folder folder;
  int threads = 1;            ///< per trial (per task with several)
  int tasks = 1;              ///< Slurm tasks per trial (srun): a data-parallel run over them
};

/// `jobs` worker processes on this machine.
std::unique_ptr<Executor> make_local_executor(WorkerCommand worker, int jobs);

struct SlurmOptions {
  int max_concurrent = 1;                 ///< the array's %cap
  std::vector<std::string> sbatch_args;   ///< e.g. --partition=short --time=01:00:00
  double poll_seconds = 5;
  std::size_t capacity = 0;               ///< trials submitted ahead (0: no limit)
  double command_timeout = 60;            ///< seconds for one sbatch, squeue or scancel
  /// A task that waits this long in the queue without running (pending for a reason other
  /// than the array's own cap, or between requeues), or whose queue cannot be read for this
  /// long, is cancelled and its trial failed with Slurm's reason. 0: wait for ever.
  double stuck_seconds = 3600;
  int max_requeues = 3;                   ///< a task requeued more often is cancelled the same way
};

/// Trials as sbatch job arrays; the folder must be shared with the compute nodes.
std::unique_ptr<Executor> make_slurm_executor(WorkerCommand worker, SlurmOptions options);

}  // namespace hebbkit::sweep
