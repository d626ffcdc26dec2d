// Trials as Slurm job arrays: one `sbatch --array=0-N%cap` per launch, tasks mapped to
// trial ids by a list in the script; `squeue` tells which tasks are still alive.
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/files.hpp"
#include "sweep/executor.hpp"
#include "run/signals.hpp"
#include "system/command.hpp"
#include "system/process.hpp"

namespace hebbkit::sweep {
namespace fs = std::filesystem;
using system::CommandResult;
using system::run_command;
using system::tail;
namespace {

// Single quotes for bash; paths with a quote in them still work.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Queue states in which a task waits to run; a task seen in one after it ran was requeued.
bool waiting_state(const std::string& state) {
  return state == "PENDING" || state == "REQUEUED" || state == "REQUEUE_HOLD" || state == "REQUEUE_FED";
}

std::string minutes(double seconds) {
  if (seconds < 10) return fmt::format("{:.1f} s", seconds);
  return seconds < 120 ? fmt::format("{:.0f} s", seconds) : fmt::format("{:.0f} min", seconds / 60);
}

class SlurmExecutor final : public Executor {
 public:
  SlurmExecutor(WorkerCommand worker, SlurmOptions options) : worker_(std::move(worker)), options_(std::move(options)) {}

  std::size_t capacity() const override { return options_.capacity ? options_.capacity : SIZE_MAX; }
  std::size_t in_flight() const override { return tasks_.size(); }

  void launch(const std::vector<std::size_t>& ids) override {
    if (ids.empty()) return;
    const fs::path folder = worker_.folder.dir() / "slurm";
    fs::create_directories(folder);
    const fs::path script = folder / fmt::format("array_{}.sh", trial_name(ids.front()));
    std::string text = "#!/bin/bash\n# A hebbkit sweep's trials, one per array task (written by `hebbkit sweep`).\n";
    text += fmt::format("ids=({})\n", fmt::join(ids, " "));
    text += "export OMP_WAIT_POLICY=PASSIVE\n";
    // Several tasks per trial: srun starts them, and they train the trial data-parallel.
    text += fmt::format("exec {}{} sweep-trial {} \"${{ids[$SLURM_ARRAY_TASK_ID]}}\" --threads {} --progress lines\n",
                        worker_.tasks > 1 ? fmt::format("srun --ntasks={} ", worker_.tasks) : "",
                        quoted(worker_.exe.string()), quoted(fs::absolute(worker_.folder.dir()).string()),
                        worker_.threads);
    io::write_atomic(script, text);
    std::vector<std::string> argv = {"sbatch", "--parsable", "--job-name=hebbkit-sweep",
                                     fmt::format("--array=0-{}%{}", ids.size() - 1, options_.max_concurrent),
                                     fmt::format("--cpus-per-task={}", worker_.threads),
                                     "--output=" + (fs::absolute(folder) / "%A_%a.out").string()};
    if (worker_.tasks > 1) argv.push_back(fmt::format("--ntasks={}", worker_.tasks));
    argv.insert(argv.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
    argv.push_back(script.string());
    const auto result = run_command(argv, options_.command_timeout, run::interrupt_requested);
    if (result.interrupted) return;  // nothing submitted; the driver stops, a later run submits them
    if (result.exit_code == 127 && !result.timed_out)
      throw std::runtime_error("--executor slurm: sbatch was not found on PATH (Debian: slurm-client; the sweep "
                               "folder must be on a file system the compute nodes share)");
    std::string job = result.output.substr(0, result.output.find_first_of(";\n"));
    if (!result.ok() || job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
      throw std::runtime_error(fmt::format("sbatch failed ({}): {}", fmt::join(argv, " "),
                                           result.describe(options_.command_timeout)));
    for (std::size_t task = 0; task < ids.size(); ++task) tasks_[fmt::format("{}_{}", job, task)] = Task{ids[task]};
    jobs_.insert(job);
    std::ofstream(folder / "jobs.txt", std::ios::app) << job << ' ' << fmt::format("{}", fmt::join(ids, ",")) << '\n';
  }

  std::vector<Ended> wait(double seconds) override {
    // In slices, so that a Ctrl-C is answered at once.
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration<double>(std::min(seconds, options_.poll_seconds));
    while (std::chrono::steady_clock::now() < until && !run::interrupt_requested())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return poll();
  }

  void stop() override {
    if (jobs_.empty()) return;
    std::vector<std::string> argv = {"scancel", "--signal=TERM", "--full"};
    argv.insert(argv.end(), jobs_.begin(), jobs_.end());
    scancel(argv);
    // Tasks save their checkpoints and end; wait (bounded) so that a continued sweep finds them finished.
    for (int i = 0; i < 60 && !tasks_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(1.0, options_.poll_seconds)));
      poll(/*stoppable=*/false);  // the stop has been asked for: squeue must still answer
    }
    std::vector<std::string> cancel = {"scancel"};
    cancel.insert(cancel.end(), jobs_.begin(), jobs_.end());
    scancel(cancel);
    tasks_.clear();
  }

 private:
  struct Task {
    std::size_t id = 0;
    std::string state, reason;  // as squeue said last
    bool ran = false;           // seen running at least once
    int requeues = 0;
    double waited = 0;          // seconds seen waiting in the queue, but for the array's own cap
    bool noted = false;         // the console was told it waits long
  };

  using Clock = std::chrono::steady_clock;

  static std::pair<std::string, std::string> split(const std::string& task) {
    const auto underscore = task.find('_');
    return {task.substr(0, underscore), task.substr(underscore + 1)};
  }

  void scancel(const std::vector<std::string>& argv) {
    const auto result = run_command(argv, options_.command_timeout);
    if (!result.ok())
      fmt::print(stderr, "hebbkit: warning: {} {}\n", fmt::join(argv, " "), result.describe(options_.command_timeout));
  }

  // Asks squeue once and returns the tasks that ended or were given up; `stoppable`: a
  // Ctrl-C cuts squeue short.
  std::vector<Ended> poll(bool stoppable = true) {
    std::vector<Ended> ended;
    if (tasks_.empty()) return ended;
    const auto now = Clock::now();
    const double since = last_poll_ ? std::chrono::duration<double>(now - *last_poll_).count() : 0.0;
    last_poll_ = now;
    std::string failure;
    const auto queue = read_queue(failure, stoppable);
    if (!queue) return queue_unreadable(failure, now);
    failing_since_.reset();
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      const auto found = queue->find(it->first);
      if (found == queue->end()) {
        const auto [job, task] = split(it->first);
        const fs::path out = worker_.folder.dir() / "slurm" / fmt::format("{}_{}.out", job, task);
        ended.push_back({it->second.id, fmt::format("Slurm task {} ended; its output ({}) ends: {}", it->first,
                                                    out.string(), tail(out, 5))});
        it = tasks_.erase(it);
        continue;
      }
      Task& t = it->second;
      const auto& [state, reason] = found->second;
      if (waiting_state(state)) {
        if (t.ran && !waiting_state(t.state)) ++t.requeues;
        if (reason != "JobArrayTaskLimit") t.waited += since;  // the array's own cap is not a fault
      } else {
        t.ran = true;
      }
      t.state = state;
      t.reason = reason;
      if (const auto why = given_up(it->first, t)) {
        scancel({"scancel", it->first});
        ended.push_back({t.id, *why, /*abandoned=*/true});
        it = tasks_.erase(it);
        continue;
      }
      ++it;
    }
    return ended;
  }

  // Why the task is given up, if it is; tells the console once when it has waited long.
  std::optional<std::string> given_up(const std::string& name, Task& t) const {
    const std::string slurm_says = fmt::format("state {}, reason: {}", t.state, t.reason.empty() ? "none" : t.reason);
    if (t.requeues > options_.max_requeues)
      return fmt::format("cancelled by the sweep: Slurm task {} was requeued {} times without finishing ({})", name,
                         t.requeues, slurm_says);
    if (options_.stuck_seconds <= 0) return std::nullopt;
    if (t.waited > options_.stuck_seconds)
      return fmt::format("cancelled by the sweep: Slurm task {} waited {} in the queue without running ({}); "
                         "--slurm-stuck sets how long a task may wait",
                         name, minutes(t.waited), slurm_says);
    if (!t.noted && t.waited > options_.stuck_seconds / 10) {
      t.noted = true;
      fmt::print(stderr, "hebbkit: trial {} (Slurm task {}) has waited {} in the queue ({}); cancelled after {}\n",
                 trial_name(t.id), name, minutes(t.waited), slurm_says, minutes(options_.stuck_seconds));
    }
    return std::nullopt;
  }

  // squeue failed: said on the console (at most once a minute); after stuck_seconds of
  // failing, every task is cancelled and given up.
  std::vector<Ended> queue_unreadable(const std::string& failure, Clock::time_point now) {
    if (!failing_since_) failing_since_ = now;
    const double failing = std::chrono::duration<double>(now - *failing_since_).count();
    if (options_.stuck_seconds > 0 && failing > options_.stuck_seconds) {
      const std::string why = fmt::format("Slurm's queue could not be read for {} (squeue {}); the sweep cancelled "
                                          "the trial's job",
                                          minutes(failing), failure);
      std::vector<std::string> cancel = {"scancel"};
      cancel.insert(cancel.end(), jobs_.begin(), jobs_.end());
      scancel(cancel);
      std::vector<Ended> ended;
      for (const auto& [name, t] : tasks_) ended.push_back({t.id, why, /*abandoned=*/true});
      tasks_.clear();
      return ended;
    }
    if (!last_warning_ || std::chrono::duration<double>(now - *last_warning_).count() >= 60) {
      last_warning_ = now;
      fmt::print(stderr, "hebbkit: warning: squeue {}; asking again every {:g} s{}\n", failure, options_.poll_seconds,
                 options_.stuck_seconds > 0 ? fmt::format(", giving the trials up after {}", minutes(options_.stuck_seconds))
                                            : std::string());
    }
    return {};
  }

  // JOB_TASK -> (state, reason) of every task Slurm still has pending or running; nullopt
  // (and `failure` says why) when squeue failed.
  std::optional<std::map<std::string, std::pair<std::string, std::string>>> read_queue(std::string& failure,
                                                                                      bool stoppable) const {
    std::vector<std::string> argv = {"squeue", "--noheader", "--array", "--states=all", "--format=%i %T %r",
                                     "--jobs=" + fmt::format("{}", fmt::join(jobs_, ","))};
    const auto result =
        run_command(argv, options_.command_timeout, stoppable ? std::function<bool()>(run::interrupt_requested) : nullptr);
    std::map<std::string, std::pair<std::string, std::string>> alive;
    if (!result.ok()) {
      // Jobs that finished long ago are forgotten by the controller: then none is alive.
      if (!result.timed_out && result.output.find("Invalid job id") != std::string::npos) return alive;
      failure = result.describe(options_.command_timeout);
      return std::nullopt;
    }
    static const std::set<std::string> live_states = {"PENDING",   "RUNNING",   "CONFIGURING", "COMPLETING",
                                                      "SUSPENDED", "REQUEUED",  "RESIZING",    "REQUEUE_HOLD",
                                                      "REQUEUE_FED", "SIGNALING", "STAGE_OUT"};
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string id, state, reason;
      if (!(fields >> id >> state)) continue;
      std::getline(fields >> std::ws, reason);
      if (live_states.count(state)) alive[id] = {state, reason};
    }
    return alive;
  }

  WorkerCommand worker_;
  SlurmOptions options_;
  std::map<std::string, Task> tasks_;  // JOB_TASK -> its trial and what the queue said
  std::set<std::string> jobs_;
  std::optional<Clock::time_point> last_poll_, failing_since_, last_warning_;
};

}  // namespace

std::unique_ptr<Executor> make_slurm_executor(WorkerCommand worker, SlurmOptions options) {
  return std::make_unique<SlurmExecutor>(std::move(worker), std::move(options));
}

}  // namespace hebbkit::sweep
