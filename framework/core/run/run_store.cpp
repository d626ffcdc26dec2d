#include "run/run_store.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"

namespace hebbkit::run {
namespace fs = std::filesystem;

std::string timestamp_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S%z", &local);
  return buffer;
}

fs::path RunStore::new_run_dir(const fs::path& parent, const std::string& name) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  fs::path dir = parent / fmt::format("{}-{}", stamp, name);
  for (int i = 2; fs::exists(dir); ++i) dir = parent / fmt::format("{}-{}-{}", stamp, name, i);
  return dir;
}

namespace {

// Whether `dir` holds anything but the lock file.
bool holds_anything(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != RunLock::file_name) return true;
  return false;
}

void create_folder(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw RecipeError(fmt::format("{} {}: is a file, not a folder; choose another {}", what, dir.string(), what));
  fs::create_directories(dir, ec);
  if (ec) throw RecipeError(fmt::format("{} {}: cannot create the folder: {}", what, dir.string(), ec.message()));
}

}  // namespace

void claim_output_folder(const fs::path& dir, const std::string& own_marker, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(dir, ec) && holds_anything(dir) && !fs::exists(dir / own_marker, ec))
    throw RecipeError(fmt::format("{} {}: exists and holds files that hebbkit did not write there; nothing of yours is "
                                  "overwritten: choose a new or empty folder",
                                  what, dir.string()));
  create_folder(dir, what);
  if (::access(dir.c_str(), W_OK) != 0)
    throw RecipeError(fmt::format("{} {}: cannot be written: {}", what, dir.string(), std::strerror(errno)));
}

RunStore::RunStore(fs::path dir, Open mode, const std::string& command)
    : dir_(std::move(dir)), artifacts_(dir_ / "artifacts") {
  const auto holds_run = [&] { return fs::exists(dir_ / "manifest.json"); };
  const auto refuse_occupied = [&] {
    if (holds_run())
      throw RecipeError(fmt::format("{}: already holds a run (manifest.json exists); choose another --out, "
                                    "or continue it with `hebbkit run --resume {}`",
                                    dir_.string(), dir_.string()));
    if (fs::is_directory(dir_) && holds_anything(dir_))
      throw RecipeError(fmt::format("{}: exists and is not empty; hebbkit writes runs only into new or empty "
                                    "folders, so nothing of yours is overwritten; choose another --out",
                                    dir_.string()));
  };
  if (mode == Open::Create) {
    refuse_occupied();
    create_folder(dir_, "--out");
  } else if (mode == Open::Rank) {
    create_folder(dir_, "rank folder");
  } else if (!holds_run()) {
    throw RecipeError(fmt::format("{}: holds no run to resume (manifest.json missing)", dir_.string()));
  }
  lock_.emplace(dir_, command);
  // Looked at again under the lock: another process may have made its run here meanwhile.
  if (mode == Open::Create) refuse_occupied();
  std::error_code ec;
  fs::create_directories(artifacts_, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create run folder: {}", dir_.string(), ec.message()));
  metrics_.open(dir_ / "metrics.jsonl", std::ios::app);
  log_.open(dir_ / "log.txt", std::ios::app);
  if (!metrics_ || !log_) throw std::runtime_error(fmt::format("{}: cannot write run files", dir_.string()));
}

void RunStore::write_text(const std::string& name, const std::string& content) const {
  io::write_atomic(dir_ / name, content);
}

void RunStore::write_json(const std::string& name, const nlohmann::json& value) const {
  write_text(name, value.dump(2) + "\n");
}

namespace {

// Every append is checked: a full disk must fail the run, not drop its records.
void append_checked(std::ofstream& out, const fs::path& file, const std::string& line) {
  if (!out) throw std::runtime_error(fmt::format("{}: an earlier write failed; nothing more is written", file.string()));
  errno = 0;
  out << line << '\n';
  out.flush();
  if (!out)
    throw std::runtime_error(fmt::format("{}: write failed: {}", file.string(),
                                         errno != 0 ? std::strerror(errno) : "unknown error"));
}

}  // namespace

void RunStore::append_metric(const nlohmann::json& record) {
  append_checked(metrics_, dir_ / "metrics.jsonl", record.dump());
}

void RunStore::append_log(const std::string& line) { append_checked(log_, dir_ / "log.txt", line); }

}  // namespace hebbkit::run
