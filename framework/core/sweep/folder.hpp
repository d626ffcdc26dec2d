#pragma once
// A sweep's folder, shared by the driver, its local workers and Slurm tasks:
//   sweep.json         what is searched (compared when the sweep is continued)
//   base.yaml          the recipe every trial starts from (extends and --set resolved)
//   trials/0003.json   trial 3's point and overrides, written before it starts
//   trials/0003/       trial 3: an ordinary run folder
//   logs/0003.txt      its process's output (a crash's last words)
//   manifest.json, summary.json, results.csv, best.yaml, objective.png
// Only the driver writes outside trials/NNNN/, so workers never race on a file.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/spec.hpp"

namespace hebbkit::sweep {

struct Trial {
  std::size_t id = 0;
  Point point;
  std::vector<std::string> overrides;
  std::string failure;  ///< set by the driver when the trial's process died without a result
};

struct Outcome {
  enum class State { Pending, Running, Unfinished, Completed, Failed, Pruned };
  State state = State::Pending;
  double value = NAN;   ///< the objective (Completed)
  double seconds = NAN; ///< the run's stage time
  std::string error;    ///< why it failed, or where it was pruned

  bool finished() const { return state == State::Completed || state == State::Failed || state == State::Pruned; }
};
const char* to_string(Outcome::State state);

/// {key: value text} of a trial's point, as trials/NNNN.json and summary.json show it.
nlohmann::json params_json(const Spec& spec, const Point& point);

/// A whole text file ("" when unreadable).
std::string read_text(const std::filesystem::path& file);

/// "0003": trial names sort as numbers.
std::string trial_name(std::size_t id);

class Folder {
 public:
  explicit Folder(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path trial_dir(std::size_t id) const { return dir_ / "trials" / trial_name(id); }
  std::filesystem::path trial_file(std::size_t id) const { return dir_ / "trials" / (trial_name(id) + ".json"); }
  std::filesystem::path log_file(std::size_t id) const { return dir_ / "logs" / (trial_name(id) + ".txt"); }
  std::filesystem::path base_recipe() const { return dir_ / "base.yaml"; }

  void write_trial(const Trial& trial, const Spec& spec) const;
  Trial read_trial(std::size_t id, const Spec& spec) const;
  /// Every trial written so far, by id.
  std::vector<Trial> read_trials(const Spec& spec) const;
  /// What trial `id`'s run folder says, with the driver's failure note first.
  Outcome outcome(const Trial& trial, const Spec& spec) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace hebbkit::sweep
