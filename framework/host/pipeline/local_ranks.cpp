#include "pipeline/local_ranks.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "parallel/gloo_world.hpp"
#include "system/process.hpp"

namespace hebbkit::pipeline {
namespace fs = std::filesystem;

fs::path rank_folder(const fs::path& run_dir, int rank) { return run_dir / "ranks" / std::to_string(rank); }

LocalRanks::LocalRanks(const fs::path& run_dir, const RunOptions& options, int threads, bool cuda) : run_dir_(run_dir) {
  const auto start = [&](std::uint16_t port) {
    for (int k = 1; k < options.processes; ++k) {
      std::vector<std::string> argv = {system::own_executable().string(),
                                       "run-rank",
                                       fs::absolute(run_dir).string(),
                                       std::to_string(k),
                                       "--nproc",
                                       std::to_string(options.processes),
                                       "--port",
                                       std::to_string(port),
                                       "--threads",
                                       std::to_string(threads),
                                       "--device",
                                       options.device};
      if (options.resume) argv.emplace_back("--resume");
      // Spinning OpenMP threads of one process would steal the cores of the others.
      children_.push_back({k, system::spawn(argv, {"OMP_WAIT_POLICY=PASSIVE"}, rank_folder(run_dir, k) / "console.txt")});
    }
  };
  try {
    parallel::World joining{0, options.processes};
    joining.cuda = cuda;
    world_ = parallel::join_gloo(joining, start);
  } catch (const DataError& e) {
    const auto why = fmt::format("{}{}", e.what(), finish(3));
    end_all();
    throw DataError(why);
  }
}

LocalRanks::~LocalRanks() { end_all(); }

void LocalRanks::end_all() {
  reap(false);
  for (const auto& child : children_)
    if (child.status < 0) ::kill(child.pid, SIGTERM);  // those computing stop as on Ctrl-C
  world_.reset();  // those waiting in an all-reduce see the connection close
  finish(10);
  for (const auto& child : children_)
    if (child.status < 0) ::kill(child.pid, SIGKILL);
  reap(true);
}

void LocalRanks::reap(bool block) {
  for (auto& child : children_) {
    if (child.status >= 0) continue;
    int status = 0;
    if (::waitpid(child.pid, &status, block ? 0 : WNOHANG) == child.pid) child.status = status;
  }
}

std::string LocalRanks::finish(double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    reap(false);
    bool running = false;
    for (const auto& child : children_) running |= child.status < 0;
    if (!running || std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fate();
}

std::string LocalRanks::describe(const Child& child) const {
  const fs::path console = rank_folder(run_dir_, child.rank) / "console.txt";
  const std::string how = child.status < 0 ? "still running" : system::describe_exit(child.status);
  // A rank that failed by itself said why on its last line; one killed said nothing.
  const bool said = child.status >= 0 && WIFEXITED(child.status);
  const std::string last = said ? system::tail(console, 1) : "";
  return fmt::format("rank {} (pid {}) {}{} (its output: {})", child.rank, child.pid, how,
                     last.empty() ? "" : ": " + last, console.string());
}

std::string LocalRanks::fate() {
  reap(false);
  std::string out;
  for (const auto& child : children_)
    if (child.status < 0 || !WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0)
      out += "; " + describe(child);
  return out;
}

}  // namespace hebbkit::pipeline
