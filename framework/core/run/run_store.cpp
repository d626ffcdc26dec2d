#include "run/run_store.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

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

RunStore::RunStore(fs::path dir, Open mode) : dir_(std::move(dir)), artifacts_(dir_ / "artifacts") {
  const bool holds_run = fs::exists(dir_ / "manifest.json");
  if (mode == Open::Create && holds_run)
    throw std::runtime_error(fmt::format("{}: already holds a run (manifest.json exists); choose another --out, "
                                         "or continue it with `hebbkit run --resume {}`",
                                         dir_.string(), dir_.string()));
  if (mode == Open::Create && fs::is_directory(dir_) && !fs::is_empty(dir_))
    throw std::runtime_error(fmt::format("{}: exists and is not empty; hebbkit writes runs only into new or empty "
                                         "folders, so nothing of yours is overwritten; choose another --out",
                                         dir_.string()));
  if (mode == Open::Resume && !holds_run)
    throw std::runtime_error(fmt::format("{}: holds no run to resume (manifest.json missing)", dir_.string()));
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
