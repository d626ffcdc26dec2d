// The stage table. Adding a stage: one file in this folder defining `StageType
// <name>_stage()`, and its declaration and entry below.
#include <algorithm>

#include "stages/stage.hpp"

namespace hebbkit::stages {

StageType train_stage();
StageType evaluate_stage();
StageType attack_stage();
StageType plot_stage();
StageType save_stage();

const std::vector<StageType>& table() {
  static const std::vector<StageType> rows = {
      train_stage(), evaluate_stage(), attack_stage(), plot_stage(), save_stage(),
  };
  return rows;
}

const StageType* find(const std::string& name) {
  const auto& rows = table();
  const auto it = std::find_if(rows.begin(), rows.end(), [&](const StageType& t) { return t.name == name; });
  return it == rows.end() ? nullptr : &*it;
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& row : table()) out.push_back(row.name);
  return out;
}

Stage::~Stage() = default;

void StageEnv::artifact(const std::filesystem::path& file) {
  const std::string relative = std::filesystem::relative(file, store.dir()).string();
  auto& list = summary.artifacts;
  if (std::find(list.begin(), list.end(), relative) == list.end()) list.push_back(relative);
}

}  // namespace hebbkit::stages
