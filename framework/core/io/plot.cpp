#include "io/plot.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

namespace hebbkit::io {
namespace fs = std::filesystem;
namespace {
// For file names inside double quotes.
std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}
// For titles and labels: also keep gnuplot's enhanced text from reading _ as subscript.
std::string label(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '_') out += "\\\\";
    else if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
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
  script += fmt::format("set output \"{}\"\n", escape(tmp_png.string()));
  script += fmt::format("set multiplot layout {},{}\nset grid\n", rows, columns);

  // An unwritable folder is the user's to fix, not gnuplot's: say so before running it.
  std::ofstream out(data);
  if (!out)
    throw std::runtime_error(fmt::format("{}: cannot write the chart's data file {}: {}", png.string(), data.string(),
                                         std::strerror(errno)));
  int block = 0;
  for (const auto& panel : panels) {
    script += fmt::format("set title \"{}\"\nset xlabel \"{}\"\nset ylabel \"{}\"\n{}\n{}\n", label(panel.title),
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
      plots.push_back(fmt::format("\"{}\" index {} with {} title \"{}\"", escape(data.string()), block++,
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
  const std::string command = fmt::format("gnuplot '{}' 2>&1", script_file.string());
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start gnuplot");
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = ::pclose(pipe);
  if (status != 0 || !fs::exists(tmp_png)) {
    fs::remove(tmp_png);
    throw std::runtime_error(fmt::format("{}: gnuplot failed (is gnuplot installed? scripts/bootstrap installs it): {}",
                                         png.string(), output));
  }
  fs::rename(tmp_png, png);
}

}  // namespace hebbkit::io
