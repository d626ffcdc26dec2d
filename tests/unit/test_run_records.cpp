// The run records (run/run_records.hpp): one mapping each for manifest.json and summary.json,
// a folder written before the typed records still loads, and what cannot be read is refused
// by key.
#include "support/catch.hpp"
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "run/run_lock.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"
#include "support/paths.hpp"
#include "support/tiny_data.hpp"
#include "system/system_info.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;
using nlohmann::json;

TEST_CASE("a run folder written before the typed records (schema 1) loads", "[records]") {
  const auto dir = testing::source_dir() / "tests" / "data" / "run_folder_v1";
  std::string why;
  const auto manifest = run::read_manifest(dir, why);
  REQUIRE(manifest);
  CHECK(manifest->schema == 1);
  CHECK(manifest->kind == run::FolderKind::Run);
  CHECK(manifest->status == run::RunStatus::Completed);
  CHECK(manifest->api_version == 7);
  CHECK(manifest->threads == 2);
  CHECK(manifest->plugins.size() == 3);
  CHECK(manifest->plugins[1].name == "krotov");
  CHECK(manifest->plugins[1].path == "layers.0.rule");
  CHECK(manifest->recipe == std::vector<std::string>{"/work/main/experiments/quickstart.yaml"});
  CHECK(manifest->ended == std::optional<std::string>("2026-12-07T13:39:03+0000"));
  CHECK_FALSE(manifest->error);
  CHECK(manifest->resumed.empty());

  const auto summary = run::read_summary(dir);
  CHECK(summary.schema == 1);
  CHECK(summary.status == run::RunStatus::Completed);
  CHECK(summary.recipe == "quickstart");
  CHECK(summary.test_accuracy == std::optional<double>(0.9781));
  CHECK(summary.number("test_error").value() == Approx(0.0219));
  CHECK(summary.data->train == 55000);
  CHECK(summary.data->classes.size() == 10);
  CHECK(summary.stages_done == std::vector<std::string>{"train", "evaluate", "plot", "save"});
  CHECK(summary.total_seconds() == Approx(31.1686).epsilon(1e-4));
  CHECK(summary.attacks.at("stages.3").accuracy == std::vector<double>{0.91, 0.62});
  CHECK(summary.artifacts.size() == 6);
}

TEST_CASE("records written and read back are the same, in this schema", "[records]") {
  run::RunManifest m;
  m.status = run::RunStatus::Interrupted;
  m.host = "h";
  m.pid = 42;
  m.command_line = {"hebbkit", "run", "r.yaml"};
  m.recipe = {"/a/base.yaml", "/a/r.yaml"};
  m.reused = run::ReusedLayers{"/runs/x", 2, {"pool: max -> avg"}};
  m.resumed.push_back({"2026-01-01T00:00:00+0000", 43, "h", 2, {"hebbkit", "run", "--resume", "x"}});
  m.error = "stopped";
  const json written = m;
  CHECK(written["schema"] == run::records_schema);
  CHECK(written["status"] == "interrupted");
  CHECK(written["ended"].is_null());
  const auto back = written.get<run::RunManifest>();
  CHECK(json(back) == written);
  CHECK(back.reused->layers == 2);
  CHECK(back.resumed.at(0).pid == 43);

  run::RunSummary s;
  s.recipe = "r";
  s.test_accuracy = 0.75;
  s.seconds["train"] = 2.5;
  s.attacks["stages.2"] = {"pgd", "l2", 10, {0.5}, {0.25}, 0.75, {}};
  const json summary = s;
  CHECK(summary["test_error"] == Approx(0.25));
  CHECK_FALSE(summary["attacks"]["stages.2"].contains("zero_gradient_fraction"));
  CHECK(json(summary.get<run::RunSummary>()) == summary);
  CHECK(s.numbers() == std::vector<std::string>{"test_accuracy", "test_error"});
  CHECK_FALSE(s.number("val_accuracy"));

  run::RunManifest sweep;
  sweep.kind = run::FolderKind::Sweep;
  sweep.recipe = {"/a/sweep.yaml"};
  sweep.jobs = 2;
  const json sweep_json = sweep;
  CHECK(sweep_json["recipe"] == "/a/sweep.yaml");  // a sweep's manifest names its one recipe
  CHECK(sweep_json.get<run::RunManifest>().recipe == sweep.recipe);
}

TEST_CASE("unreadable records are refused naming the key; a newer schema by its number", "[records][errors]") {
  testing::TempDir dir("records");
  const auto write = [&](const std::string& text) { std::ofstream(dir / "manifest.json") << text; };
  std::string why;
  write(R"({"status": "done", "pid": 1})");
  CHECK_FALSE(run::read_manifest(dir.path(), why));
  CHECK_THAT(why, Contains("status: 'done' is not a run status"));
  write(R"({"status": "completed", "pid": "one"})");
  CHECK_FALSE(run::read_manifest(dir.path(), why));
  CHECK_THAT(why, Contains("pid: "));
  write(R"({"schema": 99, "status": "completed"})");
  CHECK_FALSE(run::read_manifest(dir.path(), why));
  CHECK_THAT(why, Contains("schema 99 was written by a newer hebbkit"));
  write(R"({"pid": 1})");
  CHECK_FALSE(run::read_manifest(dir.path(), why));
  CHECK_THAT(why, Contains("status: missing"));
  CHECK(run::read_summary(dir.path() / "absent").status == run::RunStatus::Running);
}

TEST_CASE("a running run whose process is gone from this host is killed", "[records]") {
  testing::TempDir dir("lockless");  // a folder from before locks: the pid tells
  run::RunManifest m;
  m.host = system::host_name();
  m.pid = ::getpid();
  CHECK(m.live_status(dir.path()) == run::RunStatus::Running);
  m.pid = 999999999;  // above any pid_max
  CHECK(m.live_status(dir.path()) == run::RunStatus::Killed);
  m.host = "another-machine";
  CHECK(m.live_status(dir.path()) == run::RunStatus::Running);
  CHECK(run::is_final(run::RunStatus::Pruned));
  CHECK_FALSE(run::is_final(run::RunStatus::Killed));
}

TEST_CASE("one process at a time in a run folder: the lock names its holder and says who lives",
          "[records][lock]") {
  testing::TempDir dir("lock");
  CHECK_FALSE(run::run_lock_held(dir.path()));
  run::RunManifest m;
  m.status = run::RunStatus::Running;
  m.host = "another-machine";  // the lock is believed over the pid and host
  {
    run::RunStore first(dir.path(), run::RunStore::Open::Create, "hebbkit run first.yaml");
    CHECK(run::run_lock_held(dir.path()) == std::optional<bool>(true));
    CHECK(m.live_status(dir.path()) == run::RunStatus::Running);
    std::ofstream(dir / "manifest.json") << "{}\n";
    CHECK_THROWS_WITH(run::RunStore(dir.path(), run::RunStore::Open::Resume),
                      Contains("in use by another hebbkit (pid " + std::to_string(::getpid()) + " on " +
                               system::host_name() + ": hebbkit run first.yaml)"));
  }
  CHECK(run::run_lock_held(dir.path()) == std::optional<bool>(false));
  CHECK(m.live_status(dir.path()) == run::RunStatus::Killed);
  run::RunStore again(dir.path(), run::RunStore::Open::Resume);  // free once the holder is gone
}

TEST_CASE("an output folder is new, empty or the same command's; anything else is refused clearly",
          "[records][errors]") {
  testing::TempDir dir("claim");
  run::claim_output_folder(dir / "new/deeper", "compare.json", "--out");
  CHECK(std::filesystem::is_directory(dir / "new/deeper"));
  std::ofstream(dir / "new/deeper/compare.json") << "{}";
  std::ofstream(dir / "new/deeper/compare.csv") << "old";
  run::claim_output_folder(dir / "new/deeper", "compare.json", "--out");  // an earlier compare's: replaced
  std::filesystem::create_directories(dir / "mine");
  std::ofstream(dir / "mine/compare.csv") << "the user's own";
  CHECK_THROWS_WITH(run::claim_output_folder(dir / "mine", "compare.json", "--out"),
                    Contains("mine: exists and holds files that hebbkit did not write there"));
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_WITH(run::claim_output_folder(dir / "file", "compare.json", "--out"),
                    Contains("file: is a file, not a folder"));
  CHECK_THROWS_WITH(run::claim_output_folder(dir / std::string(300, 'x'), "compare.json", "--out"),
                    Contains("cannot create the folder: File name too long"));
  if (::geteuid() != 0) {  // root writes anywhere
    std::filesystem::create_directories(dir / "ro");
    std::filesystem::permissions(dir / "ro", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    CHECK_THROWS_WITH(run::claim_output_folder(dir / "ro/out", "compare.json", "--out"),
                      Contains("cannot create the folder: Permission denied"));
    std::filesystem::permissions(dir / "ro", std::filesystem::perms::owner_all);
  }
}

TEST_CASE("a summary that cannot be read says why; one not written yet is empty", "[records][errors]") {
  testing::TempDir dir("records");
  std::string why;
  REQUIRE(run::read_summary(dir.path(), why));
  CHECK_FALSE(run::read_summary(dir.path(), why)->test_accuracy);
  std::ofstream(dir / "summary.json") << R"({"test_accuracy": "x"})";
  CHECK_FALSE(run::read_summary(dir.path(), why));
  CHECK_THAT(why, Contains("summary.json: test_accuracy: "));
  CHECK_FALSE(run::read_summary(dir.path()).test_accuracy);
}

TEST_CASE("a record that is a device or far too large is refused, not read without end", "[records][errors]") {
  testing::TempDir dir("records_device");
  std::filesystem::create_symlink("/dev/zero", dir / "manifest.json");
  std::string why;
  CHECK_FALSE(run::read_manifest(dir.path(), why));
  CHECK_THAT(why, Contains("manifest.json: not a regular file"));
  std::filesystem::create_symlink("/dev/urandom", dir / "summary.json");
  CHECK_FALSE(run::read_summary(dir.path(), why));
  CHECK_THAT(why, Contains("summary.json: not a regular file"));
}
