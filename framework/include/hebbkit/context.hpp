#pragma once
// What the host hands a plugin while it works: the device, the seed, a log, the metric
// sink, progress bars, the artifact folder and the interruption check.
#include "hebbkit/export.hpp"
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/progress.hpp"
#include "hebbkit/state.hpp"

namespace hebbkit {

class Collective;

/// Training in progress as a checkpoint: what the plugin needs to continue after
/// `epochs_done` epochs (weights, optimizer_state(), counters of its own).
struct TrainingCheckpoint {
  std::int64_t epochs_done = 0;
  std::vector<NamedTensor> tensors;
};

class HEBBKIT_API RunContext {
 public:
  virtual ~RunContext();

  /// Where tensors of this run live: create every tensor with this device.
  virtual torch::Device device() const = 0;
  /// The recipe's seed; torch's global generator is already seeded with it.
  virtual std::uint64_t seed() const = 0;
  /// Folder for figures and weights of this run (exists).
  virtual const std::filesystem::path& artifacts() const = 0;

  /// One line in the run's log (and on stderr), prefixed with the current scope.
  virtual void info(const std::string& message) = 0;
  virtual void warn(const std::string& message) = 0;
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) {
    info(fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    warn(fmt::format(format, std::forward<Args>(args)...));
  }

  /// One record in metrics.jsonl, tagged with the current stage and scope.
  /// epoch / step of -1 mean "not applicable".
  virtual void metric(const std::string& name, double value, std::int64_t epoch = -1,
                      std::int64_t step = -1) = 0;

  /// A progress display for `total` steps of `unit` (e.g. "epoch", "batch").
  virtual std::unique_ptr<Progress> progress(const std::string& label, std::int64_t total,
                                             const std::string& unit) = 0;

  /// Throws Interrupted once Ctrl-C or SIGTERM arrived. Call it in long loops.
  virtual void check_interrupted() const = 0;

  /// Checkpoints inside a layer's (or head's) training, so `hebbkit run --resume` continues
  /// mid-way with the same result as an uninterrupted run. Call once before the first
  /// epoch: a value means continue after its epochs_done, with torch's generator already
  /// restored to where it was then. Outside a resumed `train` stage: nullopt.
  virtual std::optional<TrainingCheckpoint> resume_point() { return std::nullopt; }
  /// Call after every epoch. When the last checkpoint is older than the run's interval
  /// (train.checkpoint_seconds), the host calls `state` and saves it atomically with the
  /// generator state; otherwise `state` is not called, so frequent calls cost nothing.
  virtual void epoch_finished(std::int64_t /*epochs_done*/,
                              const std::function<std::vector<NamedTensor>()>& /*state*/) {}

  /// The processes of a data-parallel run (collective.hpp); single_process() unless the run
  /// was started on several.
  virtual Collective& collective();
};

}  // namespace hebbkit
