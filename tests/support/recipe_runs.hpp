#pragma once
// Running a recipe file in-process, as `hebbkit run` and `hebbkit evaluate` do, for
// end-to-end tests.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline.hpp"
#include "plugins/registry.hpp"
#include "recipe/recipe.hpp"
#include "run/signals.hpp"

namespace hebbkit::testing {

inline recipe::Recipe resolve_file(const std::filesystem::path& file, const std::vector<std::string>& overrides = {}) {
  return recipe::resolve(recipe::load(file, overrides), plugins::default_registry());
}

inline pipeline::RunOptions quiet_options(const std::filesystem::path& out) {
  pipeline::RunOptions options;
  options.out = out;
  options.threads = 1;
  options.progress = run::ProgressStyle::Silent;
  return options;
}

/// Runs `file` into `out` on one thread without progress output.
inline pipeline::RunResult run_file(const std::filesystem::path& file, const std::filesystem::path& out,
                                    const std::vector<std::string>& overrides = {}) {
  return pipeline::execute(resolve_file(file, overrides), quiet_options(out));
}

/// `hebbkit evaluate run_dir --stages stages --out out`, in-process.
inline pipeline::RunResult reopen_run(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                                      const std::string& stages, const std::vector<std::string>& overrides = {}) {
  auto recipe = recipe::resolve(recipe::load_with_stages(run_dir / "recipe.resolved.yaml", stages, overrides),
                                plugins::default_registry(), recipe::StagesStart::TrainedModel);
  auto options = quiet_options(out);
  options.reopen = run_dir;
  return pipeline::execute(recipe, options);
}

/// Asks the run to stop (as Ctrl-C does) for this scope; cleared even if a check throws.
struct ScopedInterrupt {
  ScopedInterrupt() { run::request_interrupt(); }
  ~ScopedInterrupt() { run::clear_interrupt(); }
  ScopedInterrupt(const ScopedInterrupt&) = delete;
  ScopedInterrupt& operator=(const ScopedInterrupt&) = delete;
};

inline nlohmann::json read_json(const std::filesystem::path& file) { return nlohmann::json::parse(std::ifstream(file)); }

}  // namespace hebbkit::testing
