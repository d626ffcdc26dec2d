#include "run/run_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "system/system_info.hpp"

namespace hebbkit::run {
namespace fs = std::filesystem;

namespace {

struct flock whole_file(short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;  // to the end, however long
  return lock;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[512];
  ssize_t n = 0;
  ::lseek(fd, 0, SEEK_SET);
  while (text.size() < 4096 && (n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

RunLock::RunLock(const fs::path& dir, const std::string& command) {
  const fs::path file = dir / file_name;
  // O_CLOEXEC: a child (gnuplot, a sweep worker) must not carry the lock past this process.
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw RecipeError(fmt::format("{}: cannot create its lock file {}: {}", dir.string(), file_name, std::strerror(errno)));
  auto lock = whole_file(F_WRLCK);
  if (::fcntl(fd_, F_OFD_SETLK, &lock) != 0) {
    const int err = errno;
    const std::string holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EAGAIN || err == EACCES)
      throw RecipeError(fmt::format("{}: in use by another hebbkit ({}); one process at a time works in a run folder "
                                    "— wait for it to end or stop it first",
                                    dir.string(), holder.empty() ? "holder unknown" : holder));
    throw RecipeError(fmt::format("{}: cannot lock {}: {}", dir.string(), file_name, std::strerror(err)));
  }
  const std::string who =
      fmt::format("pid {} on {}{}{}\n", ::getpid(), system::host_name(), command.empty() ? "" : ": ", command);
  if (::ftruncate(fd_, 0) == 0) {
    ::lseek(fd_, 0, SEEK_SET);
    [[maybe_unused]] const auto written = ::write(fd_, who.data(), who.size());  // the holder's name is a courtesy
  }
}

RunLock::RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the description releases the lock
}

std::optional<bool> run_lock_held(const fs::path& dir) {
  const fs::path file = dir / RunLock::file_name;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto probe = whole_file(F_WRLCK);
  const bool asked = ::fcntl(fd, F_OFD_GETLK, &probe) == 0;
  ::close(fd);
  if (!asked) return std::nullopt;
  return probe.l_type != F_UNLCK;
}

}  // namespace hebbkit::run
