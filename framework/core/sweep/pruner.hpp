#pragma once
// The median rule, applied inside a trial's own process: once `warmup` epochs have run,
// a trial whose best value of the watched metric so far is worse than the median of the
// completed trials' values at the same epoch stops (Optuna's MedianPruner). Peers are read
// from the shared sweep folder, so it works the same for local workers and Slurm tasks.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "run/metric_watch.hpp"
#include "sweep/folder.hpp"

namespace hebbkit::sweep {

class MedianPruner {
 public:
  MedianPruner(Folder folder, Spec spec, std::size_t self) : folder_(std::move(folder)), spec_(std::move(spec)), self_(self) {}
  /// A reason to stop, or nullopt. Ignores every metric but the watched one.
  std::optional<std::string> check(const run::MetricPoint& point);

 private:
  // The watched metric of completed trial `id` by epoch (read once: it no longer changes).
  const std::map<std::int64_t, double>* completed_curve(std::size_t id);

  Folder folder_;
  Spec spec_;
  std::size_t self_;
  double best_ = NAN;
  std::map<std::size_t, std::map<std::int64_t, double>> curves_;
};

}  // namespace hebbkit::sweep
