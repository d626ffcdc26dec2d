#pragma once
// The host's RunContext: routes a plugin's log lines, metrics and progress into the run
// folder, tagged with the current stage and scope (e.g. "train", "layers.0").
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hebbkit/collective.hpp"
#include "parallel/gloo_world.hpp"
#include "hebbkit/context.hpp"
#include "run/metric_watch.hpp"
#include "run/progress_display.hpp"
#include "run/run_store.hpp"

namespace hebbkit::run {

/// Where a stage that trains keeps checkpoints inside a part (the train stage's).
class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  virtual std::optional<TrainingCheckpoint> resume_point() = 0;
  virtual void epoch_finished(std::int64_t epochs_done, const std::function<std::vector<NamedTensor>()>& state) = 0;
};

class HostContext final : public RunContext {
 public:
  HostContext(RunStore& store, torch::Device device, std::uint64_t seed, ProgressStyle style);

  torch::Device device() const override { return device_; }
  std::uint64_t seed() const override { return seed_; }
  const std::filesystem::path& artifacts() const override { return store_.artifacts(); }
  using RunContext::info;
  using RunContext::warn;
  void info(const std::string& message) override;
  void warn(const std::string& message) override;
  void metric(const std::string& name, double value, std::int64_t epoch = -1, std::int64_t step = -1) override;
  std::unique_ptr<Progress> progress(const std::string& label, std::int64_t total, const std::string& unit) override;
  void check_interrupted() const override;
  std::optional<TrainingCheckpoint> resume_point() override {
    return checkpoints_ ? checkpoints_->resume_point() : std::nullopt;
  }
  void epoch_finished(std::int64_t epochs_done, const std::function<std::vector<NamedTensor>()>& state) override {
    if (checkpoints_) checkpoints_->epoch_finished(epochs_done, state);
  }
  /// Asks `watch` about every metric from now on; it may stop the run (throws Pruned).
  void set_watch(MetricWatch watch) { watch_ = std::move(watch); }
  /// Routes resume_point()/epoch_finished() to `sink` (nullptr: none) while a part trains.
  void set_checkpoints(CheckpointSink* sink) { checkpoints_ = sink; }
  Collective& collective() override { return world_ ? *world_ : single_process(); }
  /// The processes of a data-parallel run (nullptr: this one alone); outlives the context's use.
  void set_collective(parallel::GlooCollective* world) { world_ = world; }
  /// What this process has all-reduced so far (zeros alone).
  parallel::Traffic traffic() const { return world_ ? world_->traffic() : parallel::Traffic{}; }

  /// A line in log.txt only (not on stderr); a failing write is ignored.
  void log_only(const std::string& message) noexcept;
  void set_stage(std::string stage) { stage_ = std::move(stage); }
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  const std::vector<MetricPoint>& history() const { return history_; }
  /// Adds the records of an earlier metrics.jsonl (a resumed run's own, a reopened run's
  /// parent's) to history() without writing them again, so `plot` draws whole curves.
  void load_history(const std::filesystem::path& metrics_file);

 private:
  void line(const std::string& level, const std::string& message);

  RunStore& store_;
  torch::Device device_;
  std::uint64_t seed_;
  ProgressStyle style_;
  std::string stage_, scope_;
  std::chrono::steady_clock::time_point start_;
  std::vector<MetricPoint> history_;
  CheckpointSink* checkpoints_ = nullptr;
  parallel::GlooCollective* world_ = nullptr;
  MetricWatch watch_;
};

}  // namespace hebbkit::run
