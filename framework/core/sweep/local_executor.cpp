// Trials as child processes of the sweep, `jobs` at a time.
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "sweep/executor.hpp"
#include "system/command.hpp"
#include "system/process.hpp"

namespace hebbkit::sweep {
using system::spawn;
using system::describe_exit;
namespace {

class LocalExecutor final : public Executor {
 public:
  LocalExecutor(WorkerCommand worker, int jobs) : worker_(std::move(worker)), jobs_(static_cast<std::size_t>(jobs)) {}
  ~LocalExecutor() override { stop(); }

  std::size_t capacity() const override { return jobs_; }
  std::size_t in_flight() const override { return running_.size(); }

  void launch(const std::vector<std::size_t>& ids) override {
    for (const auto id : ids) {
      const std::vector<std::string> argv = {worker_.exe.string(), "sweep-trial", worker_.folder.dir().string(),
                                             std::to_string(id), "--threads", std::to_string(worker_.threads),
                                             "--progress", "lines"};
      running_[spawn(argv, {"OMP_WAIT_POLICY=PASSIVE"}, worker_.folder.log_file(id))] = id;
    }
  }

  std::vector<Ended> wait(double seconds) override {
    std::vector<Ended> ended;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (ended.empty() && !running_.empty()) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0 && running_.count(pid)) {
        const bool clean = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130);
        ended.push_back({running_[pid], clean ? "" : describe_exit(status)});
        running_.erase(pid);
        continue;
      }
      if (std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return ended;
  }

  void stop() override {
    for (const auto& [pid, id] : running_) ::kill(pid, SIGTERM);
    for (const auto& [pid, id] : running_) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    running_.clear();
  }

 private:
  WorkerCommand worker_;
  std::size_t jobs_;
  std::map<pid_t, std::size_t> running_;
};

}  // namespace

std::unique_ptr<Executor> make_local_executor(WorkerCommand worker, int jobs) {
  return std::make_unique<LocalExecutor>(std::move(worker), jobs);
}

}  // namespace hebbkit::sweep
