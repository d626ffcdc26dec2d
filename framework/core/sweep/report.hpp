#pragma once
// What a sweep leaves for its reader: results.csv (one row per trial), a terminal table
// sorted by the objective, best.yaml (the best trial's resolved recipe, runnable as it
// is), objective.png (the objective against each parameter) and summary.json; with a
// `seed` dimension also seeds.csv, each configuration's mean and spread over its seeds.
#include <cmath>
#include <string>
#include <vector>

#include "run/run_records.hpp"
#include "sweep/folder.hpp"

namespace hebbkit::sweep {

struct Row {
  Trial trial;
  Outcome outcome;
};

/// Completed rows, best first, then pruned, then failed and the rest (stable by id).
std::vector<Row> ranked(std::vector<Row> rows, const Spec& spec);

/// results.csv and summary.json (status: running, completed, interrupted); cheap, written after every trial.
void write_results(const Folder& folder, const Spec& spec, const std::vector<Row>& rows, run::RunStatus status);

/// Mean, sample standard deviation (0 for one value), min and max; n = 0 when empty.
struct Spread {
  std::size_t n = 0;
  double mean = NAN, std = NAN, min = NAN, max = NAN;
};
Spread spread_of(const std::vector<double>& values);

/// With a `seed` dimension: the completed trials grouped by their other parameters, each
/// group's objective and test accuracy over its seeds (how far a result moves with the seed).
struct SeedGroup {
  std::string params;  ///< "layers.0.rule.k=3 head.lr=0.01", or "" when seed is the only dimension
  Spread objective, test_accuracy;
};
std::vector<SeedGroup> over_seeds(const Folder& folder, const Spec& spec, const std::vector<Row>& rows);
/// Those groups as a terminal table ("" when the sweep has no seed dimension).
std::string seeds_table(const Spec& spec, const std::vector<SeedGroup>& groups);

/// The table as text, at most `limit` rows (0: all).
std::string table(const Spec& spec, const std::vector<Row>& rows, std::size_t limit = 0);

/// best.yaml and objective.png; returns the files written (none when no trial completed).
/// A plotting failure is returned in `warning`, not thrown: the table and CSV stand.
std::vector<std::string> write_best_and_plot(const Folder& folder, const Spec& spec, const std::vector<Row>& rows,
                                             std::string& warning);

}  // namespace hebbkit::sweep
