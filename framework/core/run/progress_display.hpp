#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "hebbkit/progress.hpp"

namespace hebbkit::run {

enum class ProgressStyle { Bar, Lines, Silent };

/// A bar redrawn in place on a terminal, or a plain line every `interval_seconds`.
/// `on_line` receives every plain line (the host copies them into the run's log).
std::unique_ptr<Progress> make_progress(const std::string& label, std::int64_t total, const std::string& unit,
                                        ProgressStyle style, double interval_seconds,
                                        std::function<void(const std::string&)> on_line);

/// "1:05:03" / "4:07" style duration.
std::string format_duration(double seconds);

}  // namespace hebbkit::run
