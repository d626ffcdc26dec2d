// Trials as Slurm job arrays: one `sbatch --array=0-N%cap` per launch, tasks mapped to
// trial ids by a list in the script; `squeue` tells which tasks are still alive.
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/files.hpp"
#include "sweep/executor.hpp"
#include "sweep/process.hpp"

namespace hebbkit::sweep {
namespace fs = std::filesystem;
namespace {

// Single quotes for bash; paths with a quote in them still work.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
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
    text += fmt::format("exec {} sweep-trial {} \"${{ids[$SLURM_ARRAY_TASK_ID]}}\" --threads {} --progress lines\n",
                        quoted(worker_.exe.string()), quoted(fs::absolute(worker_.folder.dir()).string()),
                        worker_.threads);
    io::write_atomic(script, text);
    std::vector<std::string> argv = {"sbatch", "--parsable", "--job-name=hebbkit-sweep",
                                     fmt::format("--array=0-{}%{}", ids.size() - 1, options_.max_concurrent),
                                     fmt::format("--cpus-per-task={}", worker_.threads),
                                     "--output=" + (fs::absolute(folder) / "%A_%a.out").string()};
    argv.insert(argv.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
    argv.push_back(script.string());
    const auto result = run_command(argv);
    if (result.exit_code == 127)
      throw std::runtime_error("--executor slurm: sbatch was not found on PATH (Debian: slurm-client; the sweep "
                               "folder must be on a file system the compute nodes share)");
    std::string job = result.output.substr(0, result.output.find_first_of(";\n"));
    if (result.exit_code != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
      throw std::runtime_error(fmt::format("sbatch failed ({}): {}", fmt::join(argv, " "), result.output));
    for (std::size_t task = 0; task < ids.size(); ++task) tasks_[fmt::format("{}_{}", job, task)] = ids[task];
    jobs_.insert(job);
    std::ofstream(folder / "jobs.txt", std::ios::app) << job << ' ' << fmt::format("{}", fmt::join(ids, ",")) << '\n';
  }

  std::vector<Ended> wait(double seconds) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(seconds, options_.poll_seconds)));
    std::vector<Ended> ended;
    if (tasks_.empty()) return ended;
    const auto alive = live_tasks();
    if (!alive) return ended;  // the controller did not answer: ask again next time
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (alive->count(it->first)) {
        ++it;
        continue;
      }
      const auto [job, task] = split(it->first);
      const fs::path out = worker_.folder.dir() / "slurm" / fmt::format("{}_{}.out", job, task);
      ended.push_back({it->second, fmt::format("Slurm task {} ended; its output ({}) ends: {}", it->first, out.string(),
                                               tail(out, 5))});
      it = tasks_.erase(it);
    }
    return ended;
  }

  void stop() override {
    if (jobs_.empty()) return;
    std::vector<std::string> argv = {"scancel", "--signal=TERM", "--full"};
    argv.insert(argv.end(), jobs_.begin(), jobs_.end());
    run_command(argv);
    // Tasks save their checkpoints and end; wait (bounded) so that a continued sweep finds them finished.
    for (int i = 0; i < 60 && !tasks_.empty(); ++i) wait(1.0);
    std::vector<std::string> cancel = {"scancel"};
    cancel.insert(cancel.end(), jobs_.begin(), jobs_.end());
    run_command(cancel);
    tasks_.clear();
  }

 private:
  static std::pair<std::string, std::string> split(const std::string& task) {
    const auto underscore = task.find('_');
    return {task.substr(0, underscore), task.substr(underscore + 1)};
  }

  // JOB_TASK of every task Slurm still has pending or running; nullopt when squeue failed.
  std::optional<std::set<std::string>> live_tasks() const {
    std::vector<std::string> argv = {"squeue", "--noheader", "--array", "--states=all", "--format=%i %T",
                                     "--jobs=" + fmt::format("{}", fmt::join(jobs_, ","))};
    const auto result = run_command(argv);
    std::set<std::string> alive;
    if (result.exit_code != 0) {
      // Jobs that finished long ago are forgotten by the controller: then none is alive.
      if (result.output.find("Invalid job id") != std::string::npos) return alive;
      return std::nullopt;
    }
    static const std::set<std::string> live_states = {"PENDING",   "RUNNING",   "CONFIGURING", "COMPLETING",
                                                      "SUSPENDED", "REQUEUED",  "RESIZING",    "REQUEUE_HOLD",
                                                      "REQUEUE_FED", "SIGNALING", "STAGE_OUT"};
    std::istringstream lines(result.output);
    for (std::string id, state; lines >> id >> state;)
      if (live_states.count(state)) alive.insert(id);
    return alive;
  }

  WorkerCommand worker_;
  SlurmOptions options_;
  std::map<std::string, std::size_t> tasks_;  // JOB_TASK -> trial id
  std::set<std::string> jobs_;
};

}  // namespace

std::unique_ptr<Executor> make_slurm_executor(WorkerCommand worker, SlurmOptions options) {
  return std::make_unique<SlurmExecutor>(std::move(worker), std::move(options));
}

}  // namespace hebbkit::sweep
