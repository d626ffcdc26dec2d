#include "io/plot.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hebbkit::io {
namespace fs = std::filesystem;
namespace {
// Nothing a user names reaches a shell or a place where gnuplot substitutes: gnuplot runs
// from an argument vector in the chart's folder, the script names only files hebbkit made
// there, and every text is a single-quoted gnuplot string (no backquote substitution, no
// escapes; a quote is doubled, a line break would end the command and becomes a space).
std::string gnuplot_string(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}
// For titles and labels: also keep gnuplot's enhanced text from reading _ ^ { } @ & ~ as markup.
std::string label(const std::string& text) {
  std::string plain;
  for (char c : text) {
    if (std::strchr("_^{}@&~", c) != nullptr && c != '\0') plain += '\\';
    plain += c;
  }
  return gnuplot_string(plain);
}

// Runs gnuplot on `script` (a file name in `dir`) with `dir` as its working directory;
// returns its exit status (-1: it could not be started) and its output in `output`.
int run_gnuplot(const fs::path& dir, const std::string& script, std::string& output) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  ::posix_spawn_file_actions_addclose(&actions, fds[0]);
  ::posix_spawn_file_actions_addclose(&actions, fds[1]);
  ::posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::string program = "gnuplot", argument = script;
  char* argv[] = {program.data(), argument.data(), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    output = std::strerror(spawned);
    return -1;
  }
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) output.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
// A PNG is whole when it starts with the signature and ends with the IEND chunk.
bool png_is_whole(const fs::path& file) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  static const unsigned char end[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  std::ifstream in(file, std::ios::binary);
  unsigned char head[8] = {}, tail[12] = {};
  if (!in.read(reinterpret_cast<char*>(head), sizeof head)) return false;
  in.seekg(-static_cast<std::streamoff>(sizeof tail), std::ios::end);
  if (!in.read(reinterpret_cast<char*>(tail), sizeof tail)) return false;
  return std::memcmp(head, signature, sizeof head) == 0 && std::memcmp(tail, end, sizeof tail) == 0;
}

}  // namespace

void plot_panels(const fs::path& png, const std::vector<Panel>& panels) {
  if (panels.empty()) return;
  const fs::path data = png.parent_path() / (png.stem().string() + ".dat");
  const fs::path tmp_png = png.parent_path() / fmt::format(".{}.tmp.{}.png", png.stem().string(), ::getpid());
  std::string script;
  const int columns = std::min<int>(3, static_cast<int>(panels.size()));
  const int rows = (static_cast<int>(panels.size()) + columns - 1) / columns;
  script += fmt::format("set terminal pngcairo size {},{} font 'sans,10'\n", 480 * columns, 360 * rows);
  script += fmt::format("set output {}\n", gnuplot_string(tmp_png.filename().string()));
  script += fmt::format("set multiplot layout {},{}\nset grid\n", rows, columns);

  // An unwritable folder is the user's to fix, not gnuplot's: say so before running it.
  std::ofstream out(data);
  if (!out)
    throw std::runtime_error(fmt::format("{}: cannot write the chart's data file {}: {}", png.string(), data.string(),
                                         std::strerror(errno)));
  int block = 0;
  for (const auto& panel : panels) {
    script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n{}\n{}\n", label(panel.title),
                          label(panel.xlabel), label(panel.ylabel),
                          panel.log_y ? "set logscale y" : "unset logscale y",
                          panel.log_x ? "set logscale x" : "unset logscale x");
    script += panel.series.size() > 1 ? "set key top right\n" : "unset key\n";
    // Scatter points at the range's ends would sit on the frame.
    const bool scatter = std::any_of(panel.series.begin(), panel.series.end(), [](const Series& s) { return s.points_only; });
    script += scatter ? "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n" : "set offsets 0, 0, 0, 0\n";
    std::vector<std::string> plots;
    for (const auto& s : panel.series) {
      for (std::size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.y[i]) && (!panel.log_y || s.y[i] > 0) && (!panel.log_x || s.x[i] > 0))
          out << s.x[i] << ' ' << s.y[i] << '\n';
      out << "\n\n";
      plots.push_back(fmt::format("{} index {} with {} title {}", gnuplot_string(data.filename().string()), block++,
                                  s.points_only ? "points pt 7 ps 1" : "linespoints pt 7 ps 0.5", label(s.title)));
    }
    script += "plot " + fmt::format("{}", fmt::join(plots, ", ")) + "\n";
  }
  script += "unset multiplot\n";
  out.close();
  if (!out) throw std::runtime_error(fmt::format("{}: write failed: {}", data.string(), std::strerror(errno)));

  const fs::path script_file = png.parent_path() / (png.stem().string() + ".gp");
  std::ofstream script_out(script_file);
  script_out << script;
  script_out.close();
  if (!script_out)
    throw std::runtime_error(fmt::format("{}: cannot write the chart's script: {}", script_file.string(), std::strerror(errno)));
  std::string output;
  const fs::path folder = png.parent_path().empty() ? fs::path(".") : png.parent_path();
  const int status = run_gnuplot(folder, "./" + script_file.filename().string(), output);
  if (status != 0 || !fs::exists(tmp_png)) {
    fs::remove(tmp_png);
    throw std::runtime_error(fmt::format("{}: gnuplot failed (is gnuplot installed? scripts/bootstrap installs it): {}",
                                         png.string(), output));
  }
  // gnuplot says nothing when a full disk cuts its PNG short: only a whole file goes into place.
  if (!png_is_whole(tmp_png)) {
    fs::remove(tmp_png);
    throw std::runtime_error(fmt::format("{}: the chart gnuplot wrote is cut short (disk full?); not put in place",
                                         png.string()));
  }
  std::error_code ec;
  fs::rename(tmp_png, png, ec);
  if (ec) {
    fs::remove(tmp_png);
    throw std::runtime_error(fmt::format("{}: cannot move the chart into place: {}", png.string(), ec.message()));
  }
}

}  // namespace hebbkit::io
