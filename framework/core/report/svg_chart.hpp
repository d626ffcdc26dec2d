#pragma once
// Charts as inline SVG, drawn by hebbkit itself: readable without a script, printable,
// each point with a tooltip (<title>). The same Panel and Series as the gnuplot PNGs.
#include <string>

#include "io/plot.hpp"

namespace hebbkit::report {

/// One panel as an <svg class="chart">: axes with round ticks, one line (or scatter) per
/// series, a legend when there are several. Non-finite values, and values <= 0 on a log
/// axis, are left out; a panel without data says so.
std::string svg_chart(const io::Panel& panel, int width = 460, int height = 290);

}  // namespace hebbkit::report
