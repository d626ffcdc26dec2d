#pragma once
// A silent CPU host context over a run folder in a fresh temporary folder, for tests that
// call plugins and SDK functions directly rather than through a recipe.
#include <string>

#include <torch/types.h>

#include "run/host_context.hpp"
#include "run/run_store.hpp"
#include "support/tiny_data.hpp"

namespace hebbkit::testing {

struct ScratchRun {
  explicit ScratchRun(const std::string& tag)
      : dir(tag), store(dir / "run"), ctx(store, torch::kCPU, 0, run::ProgressStyle::Silent) {}
  TempDir dir;
  run::RunStore store;
  run::HostContext ctx;
};

}  // namespace hebbkit::testing
