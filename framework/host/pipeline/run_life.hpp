#pragma once
// A run folder's records over the run's life: made new or reopened to continue, the summary
// written as stages finish, closed with how the run ended. pipeline::execute drives it; the
// records' format is run/run_records.hpp.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"

namespace hebbkit::pipeline {

class RunLife {
 public:
  /// options.resume: the stopped run in `dir` continues (its records reopened, this session
  /// added to `resumed`); otherwise a new run folder `dir` gets recipe.resolved.yaml and
  /// running records. `device` and `threads` are what this session runs on.
  RunLife(const std::filesystem::path& dir, const recipe::Recipe& recipe, const RunOptions& options,
          const std::string& device, int threads);

  run::RunStore& store() { return *store_; }
  const run::RunManifest& manifest() const { return manifest_; }
  run::RunSummary& summary() { return summary_; }

  /// A data-parallel run's processes, once they have joined: the backend that reduces
  /// their tensors and each rank's host, into manifest.json.
  void joined(const std::string& backend, const std::vector<std::string>& hosts);
  /// Writes summary.json: what the finished stages measured survives whatever comes next.
  void checkpoint();
  /// Writes how the run ended into both records (and the error, when there is one), then
  /// the final report.html.
  void finish(run::RunStatus status, const std::string& error);
  /// Rewrites report.html (live) when the last rewrite is a few seconds old; a page that
  /// cannot be written is a warning in the log, never the run's failure.
  void refresh_report();

 private:
  void write_report(bool live);

  std::unique_ptr<run::RunStore> store_;
  std::chrono::steady_clock::time_point next_report_{};
  bool report_warned_ = false;
  run::RunManifest manifest_;
  run::RunSummary summary_;
};

}  // namespace hebbkit::pipeline
