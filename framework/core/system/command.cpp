#include "system/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace hebbkit::system {

CommandResult run_command(const std::vector<std::string>& argv, double timeout_seconds,
                          const std::function<bool()>& stop) {
  std::vector<std::string> args = argv;
  std::vector<char*> arg_ptrs;
  for (auto& a : args) arg_ptrs.push_back(a.data());
  arg_ptrs.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {127, std::strerror(errno)};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {127, std::strerror(errno)};
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: killed whole, and a terminal's Ctrl-C reaches only us
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execvp(arg_ptrs[0], arg_ptrs.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that the group exists before any kill below
  ::close(fds[1]);
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  const auto stop_now = [&] {
    if (stop && stop()) return result.interrupted = true;
    if (std::chrono::steady_clock::now() >= deadline) return result.timed_out = true;
    return false;
  };
  // Reads in short slices so that the deadline and a stop request are seen while it hangs.
  bool open = true;
  while (open && !stop_now()) {
    pollfd readable{fds[0], POLLIN, 0};
    const int ready = ::poll(&readable, 1, 100);
    if (ready <= 0) continue;  // nothing yet, or EINTR
    char buffer[4096];
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) result.output.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) open = false;
  }
  ::close(fds[0]);
  // Output closed: the program has ended or is about to; one that lingers is killed all the same.
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (result.timed_out || result.interrupted || stop_now()) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (result.timed_out || result.interrupted) ::kill(-pid, SIGKILL);  // whatever it left behind in its group
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string CommandResult::describe(double timeout_seconds) const {
  std::string said = output;
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  if (timed_out) return fmt::format("did not answer within {:g} s (killed with its process group)", timeout_seconds);
  if (interrupted) return "stopped: this process was asked to stop";
  if (exit_code == 127 && said.empty()) return "could not be started";
  return fmt::format("exit code {}{}{}", exit_code, said.empty() ? "" : ": ", said);
}

}  // namespace hebbkit::system
