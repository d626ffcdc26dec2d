#pragma once
// The host's RunContext: routes a plugin's log lines, metrics and progress into the run
// folder, tagged with the current stage and scope (e.g. "train", "layers.0").
#include <chrono>
#include <string>
#include <vector>

#include "hebbkit/context.hpp"
#include "run/progress_display.hpp"
#include "run/run_store.hpp"

namespace hebbkit::run {

struct MetricPoint {
  std::string stage, scope, name;
  std::int64_t epoch = -1, step = -1;
  double value = 0;
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
};

}  // namespace hebbkit::run
