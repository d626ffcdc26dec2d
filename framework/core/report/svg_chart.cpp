#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "report/html.hpp"

namespace hebbkit::report {
namespace {

// A colour-blind-safe palette (Okabe and Ito), then greys.
const char* colour(std::size_t i) {
  static const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"};
  return palette[i % 8];
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double map(double v) const {  // to [0, 1]
    const double a = log ? std::log10(v) : v, l = log ? std::log10(lo) : lo, h = log ? std::log10(hi) : hi;
    return h > l ? (a - l) / (h - l) : 0.5;
  }
  // Round ticks: 1, 2 or 5 times a power of ten; powers of ten on a log axis.
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (double p = std::floor(std::log10(lo)); p <= std::ceil(std::log10(hi)) && out.size() < 12; ++p) {
        const double v = std::pow(10.0, p);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push_back(v);
      }
      if (out.size() < 2) out = {lo, hi};
      return out;
    }
    const double span = hi - lo, raw = span / 5;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / magnitude < 1.5 ? magnitude : raw / magnitude < 3.5 ? 2 * magnitude
                        : raw / magnitude < 7.5 ? 5 * magnitude : 10 * magnitude;
    for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9 && out.size() < 12; v += step)
      out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return out;
  }
};

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

Axis fit(const std::vector<const std::vector<double>*>& values, bool log) {
  Axis axis;
  axis.log = log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* list : values)
    for (const double v : *list)
      if (usable(v, log)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(lo <= hi)) return axis;
  if (lo == hi) {  // one value: a band around it
    const double pad = log ? 0 : (lo == 0 ? 1 : std::abs(lo) * 0.1);
    lo = log ? lo / 2 : lo - pad;
    hi = log ? hi * 2 : hi + pad;
  } else if (!log) {
    const double pad = (hi - lo) * 0.04;
    lo -= pad, hi += pad;
  }
  axis.lo = lo;
  axis.hi = hi;
  return axis;
}

std::string number(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

std::string svg_chart(const io::Panel& panel, int width, int height) {
  const double left = 58, right = 12, top = 26, bottom = 40;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::string out = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" aria-label=\"{2}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<text x=\"{3}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"600\">{2}</text>\n",
      width, height, escape(panel.title), width / 2);

  std::vector<const std::vector<double>*> xs, ys;
  std::size_t points = 0;
  for (const auto& s : panel.series) {
    xs.push_back(&s.x);
    ys.push_back(&s.y);
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      points += usable(s.x[i], panel.log_x) && usable(s.y[i], panel.log_y);
  }
  if (points == 0)
    return out + fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888\">no data yet</text></svg>\n",
                             width / 2, height / 2);
  const Axis x = fit(xs, panel.log_x), y = fit(ys, panel.log_y);
  const auto px = [&](double v) { return left + x.map(v) * plot_w; };
  const auto py = [&](double v) { return top + (1 - y.map(v)) * plot_h; };

  // Grid, ticks and labels.
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#bbb\"/>\n", left, top,
                     plot_w, plot_h);
  for (const double t : y.ticks())
    out += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       left, left + plot_w, py(t), left - 5, py(t) + 4, number(t));
  for (const double t : x.ticks())
    out += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#eee\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       px(t), top, top + plot_h, top + plot_h + 14, number(t));
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{}</text>\n", left + plot_w / 2,
                     height - 6, escape(panel.xlabel + (panel.log_x ? " (log)" : "")));
  out += fmt::format("<text transform=\"translate(13,{}) rotate(-90)\" text-anchor=\"middle\" fill=\"#444\">{}</text>\n",
                     top + plot_h / 2, escape(panel.ylabel + (panel.log_y ? " (log)" : "")));

  // Series: a line, then the points with their tooltips (many points: the line alone).
  for (std::size_t k = 0; k < panel.series.size(); ++k) {
    const auto& s = panel.series[k];
    std::string path, dots;
    const std::size_t n = std::min(s.x.size(), s.y.size());
    const bool dotted = s.points_only || n <= 400;
    for (std::size_t i = 0; i < n; ++i) {
      if (!usable(s.x[i], panel.log_x) || !usable(s.y[i], panel.log_y)) continue;
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "" : " ", px(s.x[i]), py(s.y[i]));
      if (dotted)
        dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\"><title>{}: {} = {}, {} = {}</title></circle>",
                            px(s.x[i]), py(s.y[i]), s.points_only ? 3.5 : 2.2, escape(s.title),
                            escape(panel.xlabel), number(s.x[i]), escape(panel.ylabel), number(s.y[i]));
    }
    if (!s.points_only && !path.empty())
      out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"/>\n", colour(k), path);
    out += fmt::format("<g fill=\"{}\">{}</g>\n", colour(k), dots);
  }
  if (panel.series.size() > 1) {
    for (std::size_t k = 0; k < panel.series.size() && k < 10; ++k)
      out += fmt::format("<rect x=\"{0}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"{2}\"/>"
                         "<text x=\"{3}\" y=\"{4}\">{5}</text>\n",
                         left + 8, top + 6 + 14 * k, colour(k), left + 22, top + 15 + 14 * k,
                         escape(panel.series[k].title));
  }
  return out + "</svg>\n";
}

}  // namespace hebbkit::report
