#pragma once
// Line charts and scatter plots, rendered by gnuplot (pngcairo) from data the host writes beside them.
#include <filesystem>
#include <string>
#include <vector>

namespace hebbkit::io {

struct Series {
  std::string title;
  std::vector<double> x, y;
  bool points_only = false;  ///< a scatter: no line between the points
};

struct Panel {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool log_y = false;
  bool log_x = false;
};

/// Renders the panels side by side into one PNG. Throws std::runtime_error with
/// gnuplot's own message when gnuplot is missing or fails.
void plot_panels(const std::filesystem::path& png, const std::vector<Panel>& panels);

}  // namespace hebbkit::io
