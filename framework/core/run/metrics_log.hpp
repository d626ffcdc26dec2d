#pragma once
// A run's metrics.jsonl read back as curves: one per scope ("layers.0", "head") and metric
// name, in the order logged. Shared by `compare` and the HTML report.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hebbkit::run {

struct Curve {
  std::vector<double> epochs, values;
};

/// scope -> metric name -> curve, for the `train` stage's per-epoch records; a torn last
/// line (a killed run) and records of other stages are skipped.
using Curves = std::map<std::string, std::map<std::string, Curve>>;
Curves read_curves(const std::filesystem::path& metrics_file);

/// The curve that describes the classifier for `metric` (loss, train_accuracy,
/// val_accuracy): the head's when it logged one, otherwise the top layer's that did (a
/// backprop network read out as it is); nullptr when none.
const Curve* classifier_curve(const Curves& curves, const std::string& metric);

}  // namespace hebbkit::run
