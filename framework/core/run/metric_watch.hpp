#pragma once
// Metrics as a run records them, and the hook that may stop it (a sweep's pruner).
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace hebbkit::run {

struct MetricPoint {
  std::string stage, scope, name;
  std::int64_t epoch = -1, step = -1;
  double value = 0;
};

/// Looks at every metric as it is recorded and returns a reason to stop the run early
/// (a sweep's pruner), or nullopt.
using MetricWatch = std::function<std::optional<std::string>(const MetricPoint&)>;

/// Thrown by HostContext::metric() when the watch says stop: the run ends as "pruned".
class Pruned : public std::runtime_error {
 public:
  explicit Pruned(const std::string& why) : std::runtime_error(why) {}
};

}  // namespace hebbkit::run
