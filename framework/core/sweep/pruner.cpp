#include "sweep/pruner.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run/run_records.hpp"

namespace hebbkit::sweep {
namespace fs = std::filesystem;
using nlohmann::json;

const std::map<std::int64_t, double>* MedianPruner::completed_curve(std::size_t id) {
  if (const auto it = curves_.find(id); it != curves_.end()) return &it->second;
  const fs::path dir = folder_.trial_dir(id);
  std::string why;
  const auto manifest = run::read_manifest(dir, why);
  if (!manifest || manifest->status != run::RunStatus::Completed) return nullptr;
  std::map<std::int64_t, double> curve;
  std::ifstream in(dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    try {
      const json r = json::parse(line);
      if (r.value("scope", "") == spec_.prune.scope && r.value("name", "") == spec_.prune.name && r["epoch"].is_number() &&
          r["value"].is_number())
        curve[r["epoch"].get<std::int64_t>()] = r["value"].get<double>();
    } catch (const std::exception&) {
    }
  }
  return &(curves_[id] = std::move(curve));
}

std::optional<std::string> MedianPruner::check(const run::MetricPoint& point) {
  if (point.scope != spec_.prune.scope || point.name != spec_.prune.name || point.epoch < 0 || !std::isfinite(point.value))
    return std::nullopt;
  const bool max = spec_.maximize;
  if (!std::isfinite(best_) || (max ? point.value > best_ : point.value < best_)) best_ = point.value;
  if (point.epoch < spec_.prune.warmup) return std::nullopt;

  std::vector<double> peers;
  std::size_t completed = 0;
  for (std::size_t id = 0; fs::exists(folder_.trial_file(id)); ++id) {
    if (id == self_) continue;
    const auto* curve = completed_curve(id);
    if (!curve) continue;
    ++completed;
    if (const auto it = curve->find(point.epoch); it != curve->end()) peers.push_back(it->second);
  }
  if (completed < static_cast<std::size_t>(spec_.prune.startup) || peers.empty()) return std::nullopt;
  std::sort(peers.begin(), peers.end());
  const std::size_t n = peers.size();
  const double median = n % 2 ? peers[n / 2] : 0.5 * (peers[n / 2 - 1] + peers[n / 2]);
  if (max ? best_ >= median : best_ <= median) return std::nullopt;
  return fmt::format("{} epoch {}: best {} so far {:.6g} is {} the median {:.6g} of {} completed trial(s)",
                     point.scope, point.epoch, point.name, best_, max ? "below" : "above", median, n);
}

}  // namespace hebbkit::sweep
