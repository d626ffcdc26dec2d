#pragma once
// One process at a time in a run folder. An open-file-description lock (fcntl F_OFD_SETLK)
// on <dir>/.hebbkit.lock: the kernel releases it when the holder exits however it exits,
// so a killed run never leaves a stale lock, and it can be tested without being taken.
#include <filesystem>
#include <optional>
#include <string>

namespace hebbkit::run {

class RunLock {
 public:
  /// Takes the lock of `dir` (which must exist) and writes this process's pid, host and
  /// `command` into the lock file. Throws RecipeError naming the holder when another
  /// process holds it.
  RunLock(const std::filesystem::path& dir, const std::string& command);
  ~RunLock();
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&&) = delete;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static constexpr const char* file_name = ".hebbkit.lock";

 private:
  int fd_ = -1;
};

/// Whether some process holds `dir`'s lock now: nullopt when the folder has no lock file
/// (a run from before locks), otherwise true/false. Looks without taking it.
std::optional<bool> run_lock_held(const std::filesystem::path& dir);

}  // namespace hebbkit::run
