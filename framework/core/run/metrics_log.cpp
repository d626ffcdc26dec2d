#include "run/metrics_log.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

namespace hebbkit::run {
using nlohmann::json;

Curves read_curves(const std::filesystem::path& metrics_file) {
  Curves curves;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(metrics_file, ec)) return curves;  // none yet, or a device in its place
  std::ifstream in(metrics_file);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > (1u << 20)) continue;  // no record is a megabyte long
    json record;
    try {
      record = json::parse(line);
    } catch (const std::exception&) {
      continue;  // a torn last line of a killed run
    }
    if (!record.is_object() || record.value("stage", "") != "train" || !record["epoch"].is_number() ||
        !record["value"].is_number())
      continue;
    auto& curve = curves[record.value("scope", "")][record.value("name", "")];
    curve.epochs.push_back(record["epoch"].get<double>());
    curve.values.push_back(record["value"].get<double>());
  }
  return curves;
}

const Curve* classifier_curve(const Curves& curves, const std::string& metric) {
  if (auto head = curves.find("head"); head != curves.end())
    if (auto it = head->second.find(metric); it != head->second.end()) return &it->second;
  const Curve* found = nullptr;
  for (const auto& [scope, metrics] : curves)  // map order: layers.0, layers.1, ...
    if (scope.rfind("layers.", 0) == 0)
      if (auto it = metrics.find(metric); it != metrics.end()) found = &it->second;
  return found;
}

}  // namespace hebbkit::run
