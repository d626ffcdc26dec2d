// The lifecycle's rules (pipeline/lifecycle.hpp) on folders in each state, before anything
// runs: what resume refuses, and what a sweep trial's run_or_continue leaves alone.
#include "support/catch.hpp"
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "hebbkit/errors.hpp"
#include "pipeline/lifecycle.hpp"
#include "run/run_records.hpp"
#include "support/tiny_data.hpp"
#include "system/system_info.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;

namespace {
// A run folder whose manifest says `status`, run by this process on this host.
void fake_run(const std::filesystem::path& dir, run::RunStatus status) {
  std::filesystem::create_directories(dir);
  run::RunManifest m;
  m.status = status;
  m.host = system::host_name();
  m.pid = ::getpid();
  m.threads = 1;
  std::ofstream(dir / "manifest.json") << nlohmann::json(m).dump(2);
  std::ofstream(dir / "recipe.resolved.yaml") << "name: fake\n";
}
}  // namespace

TEST_CASE("resume refuses what cannot continue, naming the folder", "[lifecycle][errors]") {
  testing::TempDir dir("lifecycle");
  CHECK_THROWS_AS(pipeline::resume_run(dir / "absent", {}, {}), RecipeError);
  std::filesystem::create_directories(dir / "empty");
  CHECK_THROWS_WITH(pipeline::resume_run(dir / "empty", {}, {}), Contains("not a run folder (manifest.json missing)"));
  fake_run(dir / "done", run::RunStatus::Completed);
  CHECK_THROWS_WITH(pipeline::resume_run(dir / "done", {}, {}), Contains("the run completed; there is nothing to resume"));
  fake_run(dir / "going", run::RunStatus::Running);
  CHECK_THROWS_WITH(pipeline::resume_run(dir / "going", {}, {}), Contains("is still running (pid"));
  CHECK_THROWS_WITH(pipeline::evaluate_run(dir / "going", "evaluate", {}, {}),
                    Contains("is still running (pid") && Contains("evaluate it when it has ended"));
  fake_run(dir / "stopped", run::RunStatus::Interrupted);
  CHECK_THROWS_WITH(pipeline::resume_run(dir / "stopped", {"seed=1"}, {}), Contains("--set cannot change a run"));
  pipeline::RunOptions elsewhere;
  elsewhere.out = dir / "other";
  CHECK_THROWS_WITH(pipeline::resume_run(dir / "stopped", {}, elsewhere), Contains("--out cannot be given"));
  CHECK_THROWS_WITH(pipeline::evaluate_run(dir / "done", "evaluate", {}, {}), Contains("holds no saved model"));
  // An evaluate folder that failed says what to run instead, never a resume that is refused.
  fake_run(dir / "evaluated", run::RunStatus::Failed);
  std::string why;
  auto m = *run::read_manifest(dir / "evaluated", why);
  m.parent = (dir / "done").string();
  m.command_line = {"hebbkit", "evaluate", (dir / "done").string(), "--stages", "attack"};
  std::ofstream(dir / "evaluated/manifest.json") << nlohmann::json(m).dump(2);
  CHECK_THROWS_WITH(pipeline::resume_run(dir / "evaluated", {}, {}),
                    Contains("an evaluate folder is not resumed") &&
                        Contains("hebbkit evaluate " + (dir / "done").string() + " --stages attack"));
}

TEST_CASE("run_or_continue leaves a finished run alone and refuses one still going", "[lifecycle]") {
  testing::TempDir dir("lifecycle");
  for (const auto status : {run::RunStatus::Completed, run::RunStatus::Failed, run::RunStatus::Pruned}) {
    fake_run(dir / "finished", status);
    pipeline::RunOptions options;
    options.out = dir / "finished";
    const auto result = pipeline::run_or_continue({}, options);
    CHECK(result.already_finished);
    CHECK(result.status == status);
  }
  fake_run(dir / "going", run::RunStatus::Running);
  pipeline::RunOptions options;
  options.out = dir / "going";
  CHECK_THROWS_WITH(pipeline::run_or_continue({}, options), Contains("the run is still going (pid"));
}
