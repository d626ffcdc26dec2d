#pragma once
// A run folder's records as types: manifest.json (what ran, where, how it ended) and
// summary.json (what it measured). Their JSON is mapped in run_records.cpp and nowhere else;
// everything else reads and writes the structs.
//
// Schema versions: 2 is these records. Folders written before them (hebbkit 0.2 to this
// change) have no "schema" key; they load as schema 1 with the same mapping, a key they lack
// taking its default. A folder of a newer schema is refused by name.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hebbkit::run {

inline constexpr int records_schema = 2;

enum class RunStatus { Running, Completed, Failed, Interrupted, Pruned, Killed };
/// "running", "completed", ... as the records and `hebbkit runs` spell them.
const char* to_string(RunStatus status);
/// Completed, failed and pruned runs are over; interrupted and killed ones can continue.
bool is_final(RunStatus status);

/// A run folder, or a sweep's folder (which holds trials' run folders).
enum class FolderKind { Run, Sweep };

/// One `--resume` of a run.
struct Resumption {
  std::string at;
  std::int64_t pid = 0;
  std::string host;
  std::int64_t threads = 0;  ///< per process
  std::vector<std::string> command_line;
  std::int64_t processes = 1;
};

/// The processes of a data-parallel run (`hebbkit run --nproc N`), as its last session ran.
struct DataParallel {
  std::int64_t processes = 1;
  std::string backend;             ///< "gloo"
  std::vector<std::string> hosts;  ///< one per rank
};

/// The layers a recipe's `reuse:` took from another run.
struct ReusedLayers {
  std::string run;
  std::int64_t layers = 0;
  std::vector<std::string> readouts_changed;
};

/// A plugin a run used, with its library's digest.
struct PluginRecord {
  std::string path, name, kind, file, sha256;
};

/// manifest.json.
struct RunManifest {
  int schema = records_schema;
  FolderKind kind = FolderKind::Run;
  RunStatus status = RunStatus::Running;
  std::string host;
  std::int64_t pid = 0;
  std::string started;
  std::optional<std::string> ended;
  std::optional<std::string> error;
  std::vector<std::string> command_line;

  // A run's.
  std::string hebbkit_version;
  std::int64_t api_version = 0;
  std::string git_commit, libtorch_version;
  std::vector<std::string> blas;
  std::string blas_core, device;
  std::int64_t threads = 0;  ///< per process
  std::optional<DataParallel> data_parallel;
  std::int64_t seed = 0;
  std::vector<std::string> recipe;  ///< the recipe files, as `extends:` chained them; a sweep: its one file
  std::vector<std::string> overrides;
  std::vector<PluginRecord> plugins;
  std::optional<std::string> parent;  ///< the run whose model `evaluate` reopened
  std::optional<ReusedLayers> reused;
  std::vector<Resumption> resumed;

  // A sweep's.
  std::string executor;
  std::int64_t jobs = 0, threads_per_trial = 0;

  /// status, except that a running run in `dir` whose process is gone (SIGKILL, a crash, a
  /// reboot) is Killed: known from the folder's lock (run_lock.hpp), or for a folder
  /// without one from the pid on this host; another host's lockless run is taken at its word.
  RunStatus live_status(const std::filesystem::path& dir) const;
};

/// How many samples each split held, and the class names.
struct DataCounts {
  std::int64_t train = 0, validation = 0, test = 0;
  std::vector<std::string> classes;
  std::string root;  ///< the data root read (absolute); a resume must read the same data
};

/// What one `attack` stage measured (its path, e.g. "stages.3", is the key in RunSummary::attacks).
struct AttackRecord {
  std::string attack, norm;
  std::int64_t images = 0;
  std::vector<double> epsilons, accuracy;
  double clean_accuracy = 0;
  std::vector<double> zero_gradient_fraction;  ///< per epsilon; empty for attacks without a gradient
};

/// The best trial of a sweep.
struct SweepBest {
  std::string trial;
  double value = 0;
  std::map<std::string, std::string> params;  ///< key -> value text
};

/// summary.json. A run fills the first part; a sweep (kind Sweep) the second, and its best
/// trial's accuracies so that `hebbkit runs` shows it beside runs.
struct RunSummary {
  int schema = records_schema;
  FolderKind kind = FolderKind::Run;
  RunStatus status = RunStatus::Running;
  std::optional<double> train_accuracy, val_accuracy, test_accuracy;

  std::string recipe;  ///< the run's name
  std::int64_t seed = 0;
  std::vector<std::string> artifacts;  ///< relative to the run folder
  std::optional<std::string> parent;
  std::optional<ReusedLayers> reused;
  std::optional<DataCounts> data;
  std::map<std::string, double> seconds;  ///< per stage ("data" too)
  std::vector<std::string> stages_done;
  std::map<std::string, AttackRecord> attacks;
  std::optional<double> peak_rss_mib;

  std::string objective, mode, strategy;
  std::int64_t trials = 0;
  std::map<std::string, std::int64_t> states;  ///< trials per outcome
  nlohmann::json over_seeds;                   ///< per point: the objective's spread over seeds
  std::optional<SweepBest> best;

  /// The number a sweep's objective names: "test_accuracy", "test_error", "val_accuracy",
  /// "train_accuracy" or "peak_rss_mib"; nullopt when the run did not measure it.
  std::optional<double> number(const std::string& name) const;
  /// The names number() has a value for in this summary.
  std::vector<std::string> numbers() const;
  /// Seconds over all stages.
  double total_seconds() const;
};

void to_json(nlohmann::json& out, const RunManifest& manifest);
void from_json(const nlohmann::json& in, RunManifest& manifest);
void to_json(nlohmann::json& out, const RunSummary& summary);
void from_json(const nlohmann::json& in, RunSummary& summary);

/// Every name RunSummary::number() knows: what a sweep may take as its objective.
const std::vector<std::string>& summary_numbers();

/// dir/manifest.json, or nullopt with the reason in `why` (missing, not JSON, a field of the
/// wrong type, an unknown status, a newer schema).
std::optional<RunManifest> read_manifest(const std::filesystem::path& dir, std::string& why);
/// dir/summary.json: an empty summary when there is none (a run stopped before writing one),
/// nullopt with the reason in `why` when it cannot be read.
std::optional<RunSummary> read_summary(const std::filesystem::path& dir, std::string& why);
/// The same, an empty summary when it cannot be read: for views that show what they can.
RunSummary read_summary(const std::filesystem::path& dir);

}  // namespace hebbkit::run
