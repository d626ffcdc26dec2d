#pragma once
// Running a recipe file in-process, as `hebbkit run` does, for end-to-end tests.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline.hpp"
#include "plugins/registry.hpp"
#include "recipe/recipe.hpp"

namespace hebbkit::testing {

inline recipe::Recipe resolve_file(const std::filesystem::path& file, const std::vector<std::string>& overrides = {}) {
  return recipe::resolve(recipe::load(file, overrides), plugins::default_registry());
}

/// Runs `file` into `out` on one thread without progress output.
inline pipeline::RunResult run_file(const std::filesystem::path& file, const std::filesystem::path& out,
                                    const std::vector<std::string>& overrides = {}) {
  auto recipe = resolve_file(file, overrides);
  pipeline::RunOptions options;
  options.out = out;
  options.threads = 1;
  options.progress = run::ProgressStyle::Silent;
  return pipeline::execute(recipe, options);
}

inline nlohmann::json read_json(const std::filesystem::path& file) { return nlohmann::json::parse(std::ifstream(file)); }

}  // namespace hebbkit::testing
