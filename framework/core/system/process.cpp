#include "system/process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include <fmt/format.h>

extern char** environ;

namespace hebbkit::system {
namespace fs = std::filesystem;

namespace {

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : extra) replaced |= x.substr(0, x.find('=')) == name;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const fs::path& output) {
  // Everything the child needs is prepared before fork(): only async-signal-safe calls after.
  std::vector<std::string> args = argv, envs = environment_with(env);
  auto arg_ptrs = pointers(args);
  auto env_ptrs = pointers(envs);
  fs::create_directories(output.parent_path());
  const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error(fmt::format("{}: cannot open for the worker's output: {}", output.string(), std::strerror(errno)));
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    ::close(in);
    throw std::runtime_error(fmt::format("cannot start a worker: fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
    const char message[] = "hebbkit: cannot execute the worker\n";
    (void)!::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  ::close(out);
  ::close(in);
  return pid;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return "ended";
}

std::string tail(const fs::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += (out.empty() ? "" : "\n") + l;
  return out;
}

fs::path own_executable() {
  // A rebuild while a sweep runs replaces the file; the kernel then appends " (deleted)".
  std::string path = fs::read_symlink("/proc/self/exe").string();
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  return path;
}

}  // namespace hebbkit::system
