#pragma once
// The `hebbkit` subcommands. Each returns the process exit code:
// 0 ok, 1 runtime failure, 2 bad recipe or arguments, 130 interrupted.
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"

namespace hebbkit::cli {

int run_recipe(const std::filesystem::path& recipe, const std::vector<std::string>& overrides,
               pipeline::RunOptions options);
int validate_recipe(const std::filesystem::path& recipe, const std::vector<std::string>& overrides);
int list_plugins();
int describe_plugin(const std::string& name);
int list_runs(const std::filesystem::path& folder);

}  // namespace hebbkit::cli
