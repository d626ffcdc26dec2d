#pragma once
// What a sweep leaves for its reader: results.csv (one row per trial), a terminal table
// sorted by the objective, best.yaml (the best trial's resolved recipe, runnable as it
// is), objective.png (the objective against each parameter) and summary.json.
#include <string>
#include <vector>

#include "sweep/folder.hpp"

namespace hebbkit::sweep {

struct Row {
  Trial trial;
  Outcome outcome;
};

/// Completed rows, best first, then pruned, then failed and the rest (stable by id).
std::vector<Row> ranked(std::vector<Row> rows, const Spec& spec);

/// results.csv and summary.json (status: running, completed, interrupted); cheap, written after every trial.
void write_results(const Folder& folder, const Spec& spec, const std::vector<Row>& rows, const std::string& status);

/// The table as text, at most `limit` rows (0: all).
std::string table(const Spec& spec, const std::vector<Row>& rows, std::size_t limit = 0);

/// best.yaml and objective.png; returns the files written (none when no trial completed).
/// A plotting failure is returned in `warning`, not thrown: the table and CSV stand.
std::vector<std::string> write_best_and_plot(const Folder& folder, const Spec& spec, const std::vector<Row>& rows,
                                             std::string& warning);

}  // namespace hebbkit::sweep
