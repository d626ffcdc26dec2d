#pragma once
// The other processes of a run on this machine (`hebbkit run --nproc N`): rank 0, the run
// itself, opens the rendezvous on a free local port and starts ranks 1..N-1 as
// `hebbkit run-rank DIR K ...`; they join through c10d (parallel/gloo_world) and write only
// their own folder DIR/ranks/K.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hebbkit/collective.hpp"
#include "parallel/gloo_world.hpp"
#include "pipeline/pipeline.hpp"

namespace hebbkit::pipeline {

class LocalRanks {
 public:
  /// Starts ranks 1..options.processes-1 with `threads` each and waits until all have
  /// joined (DataError naming the ranks that did not, and what became of them). `cuda`:
  /// the run's tensors are on GPUs (parallel::World::cuda).
  LocalRanks(const std::filesystem::path& run_dir, const RunOptions& options, int threads, bool cuda);
  /// Ends the ranks still running (SIGTERM, then SIGKILL) and waits for them.
  ~LocalRanks();
  LocalRanks(const LocalRanks&) = delete;
  LocalRanks& operator=(const LocalRanks&) = delete;

  parallel::GlooCollective& collective() { return *world_; }
  /// Waits up to `seconds` for the ranks to end after training; "" when every one ended
  /// cleanly, else "; " and what became of each that did not (exit or signal, its last line).
  std::string finish(double seconds);
  /// What became of the ranks that ended badly or still run, for an error message.
  std::string fate();

 private:
  struct Child {
    int rank;
    pid_t pid;
    int status = -1;  ///< waitpid's, once it ended
  };
  void reap(bool block);
  /// SIGTERM to those still running, the connections closed, SIGKILL after 10 s; all reaped.
  void end_all();
  std::string describe(const Child& child) const;

  std::filesystem::path run_dir_;
  std::vector<Child> children_;
  std::unique_ptr<parallel::GlooCollective> world_;
};

}  // namespace hebbkit::pipeline
