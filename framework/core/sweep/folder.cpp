#include "sweep/folder.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hebbkit/files.hpp"
#include "run/run_records.hpp"

namespace hebbkit::sweep {
namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(Outcome::State state) {
  switch (state) {
    case Outcome::State::Pending: return "pending";
    case Outcome::State::Running: return "running";
    case Outcome::State::Unfinished: return "unfinished";
    case Outcome::State::Completed: return "completed";
    case Outcome::State::Failed: return "failed";
    case Outcome::State::Pruned: return "pruned";
  }
  return "?";
}

json params_json(const Spec& spec, const Point& point) {
  json params = json::object();
  for (std::size_t i = 0; i < spec.params.size(); ++i) params[spec.params[i].key] = spec.params[i].value_text(point[i]);
  return params;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trial_name(std::size_t id) { return fmt::format("{:04d}", id); }

void Folder::write_trial(const Trial& trial, const Spec& spec) const {
  json record = {{"id", trial.id}, {"point", trial.point}, {"params", params_json(spec, trial.point)},
                 {"overrides", trial.overrides}};
  if (!trial.failure.empty()) record["failure"] = trial.failure;
  fs::create_directories(dir_ / "trials");
  io::write_atomic(trial_file(trial.id), record.dump(2) + "\n");
}

Trial Folder::read_trial(std::size_t id, const Spec& spec) const {
  const fs::path file = trial_file(id);
  try {
    const json record = json::parse(std::ifstream(file));
    Trial trial;
    trial.id = record.at("id").get<std::size_t>();
    trial.point = record.at("point").get<Point>();
    trial.overrides = record.at("overrides").get<std::vector<std::string>>();
    trial.failure = record.value("failure", std::string());
    if (trial.id != id || trial.point.size() != spec.params.size())
      throw std::runtime_error("it does not match the sweep's parameters");
    return trial;
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: unreadable trial record: {}", file.string(), e.what()));
  }
}

std::vector<Trial> Folder::read_trials(const Spec& spec) const {
  std::vector<Trial> trials;
  for (std::size_t id = 0; fs::exists(trial_file(id)); ++id) trials.push_back(read_trial(id, spec));
  return trials;
}

Outcome Folder::outcome(const Trial& trial, const Spec& spec) const {
  Outcome out;
  const fs::path dir = trial_dir(trial.id);
  if (!trial.failure.empty()) {
    out.state = Outcome::State::Failed;
    out.error = trial.failure;
    return out;
  }
  if (!fs::exists(dir / "manifest.json")) return out;  // pending
  std::string why;
  const auto manifest = run::read_manifest(dir, why);
  if (!manifest) {
    out.state = Outcome::State::Unfinished;  // mid-write by a live worker, or damaged: run it again
    out.error = why;
    return out;
  }
  const auto summary = run::read_summary(dir);
  if (!summary.seconds.empty()) out.seconds = summary.total_seconds();
  const auto status = manifest->live_status(dir);
  out.error = manifest->error.value_or("");
  if (status == run::RunStatus::Running) {
    out.state = Outcome::State::Running;
  } else if (status == run::RunStatus::Failed) {
    out.state = Outcome::State::Failed;
  } else if (status == run::RunStatus::Pruned) {
    out.state = Outcome::State::Pruned;
  } else if (status == run::RunStatus::Completed) {
    if (const auto value = summary.number(spec.objective)) {
      out.state = Outcome::State::Completed;
      out.value = *value;
    } else {
      out.state = Outcome::State::Failed;
      out.error = fmt::format("{}/summary.json has no number '{}' (the objective); its numbers: {}", dir.string(),
                              spec.objective, fmt::join(summary.numbers(), ", "));
    }
  } else {
    out.state = Outcome::State::Unfinished;  // interrupted or killed: continued from its checkpoint
  }
  return out;
}

}  // namespace hebbkit::sweep
