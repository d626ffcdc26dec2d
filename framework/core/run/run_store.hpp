#pragma once
// One run's folder: recipe.resolved.yaml, manifest.json, metrics.jsonl, summary.json,
// log.txt and artifacts/. Whole files are replaced atomically; the metrics and the log
// are appended line by line and flushed, so an interrupted run keeps every full line.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "run/run_lock.hpp"

namespace hebbkit::run {

class RunStore {
 public:
  enum class Open {
    Create,  ///< a new run: `dir` must not exist or be empty (nothing of the user's is touched)
    Resume,  ///< continue the run in `dir`: appends to its metrics and log
    Rank,    ///< a data-parallel run's rank: its own folder in the run's, made or appended to
  };
  /// Creates (or reopens) `dir` and dir/artifacts, holding the folder's lock (run_lock.hpp)
  /// for as long as it lives; `command` names this process to one that finds it taken.
  /// Throws RecipeError for a folder that is occupied, locked or cannot be made.
  explicit RunStore(std::filesystem::path dir, Open mode = Open::Create, const std::string& command = "");

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& artifacts() const { return artifacts_; }

  void write_text(const std::string& name, const std::string& content) const;
  void write_json(const std::string& name, const nlohmann::json& value) const;
  void append_metric(const nlohmann::json& record);
  void append_log(const std::string& line);

  /// A fresh folder name under `parent`: <parent>/<YYYYmmdd-HHMMSS>-<name>[-N].
  static std::filesystem::path new_run_dir(const std::filesystem::path& parent, const std::string& name);

 private:
  std::filesystem::path dir_, artifacts_;
  std::optional<RunLock> lock_;  // before the streams: taken before anything is written
  std::ofstream metrics_, log_;
};

/// Makes `dir` ready for a command's output files (`--out` of `compare`, a sweep's folder):
/// created when absent; an existing one must be empty or hold `own_marker`, the file an
/// earlier run of the same command left (its outputs are then replaced). Throws RecipeError
/// naming `what` (e.g. "--out") for anything else: a file, a folder of the user's, a place
/// that cannot be written.
void claim_output_folder(const std::filesystem::path& dir, const std::string& own_marker, const std::string& what);

/// ISO-8601 local time with offset, e.g. 2026-11-22T11:02:03+0000.
std::string timestamp_now();

}  // namespace hebbkit::run
