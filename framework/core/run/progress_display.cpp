#include "run/progress_display.hpp"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "run/signals.hpp"

namespace hebbkit::run {
namespace {
using Clock = std::chrono::steady_clock;

class Display final : public Progress {
 public:
  Display(std::string label, std::int64_t total, std::string unit, ProgressStyle style, double interval,
          std::function<void(const std::string&)> on_line)
      : label_(std::move(label)), unit_(std::move(unit)), total_(total), style_(style), interval_(interval),
        on_line_(std::move(on_line)), start_(Clock::now()), last_print_(start_) {}

  ~Display() override {
    try {
      finish();
    } catch (...) {
    }
  }

  void advance(std::int64_t steps) override {
    done_ += steps;
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_print_).count();
    if (style_ == ProgressStyle::Bar && since > 0.1) {
      draw(false);
      last_print_ = now;
    } else if (style_ == ProgressStyle::Lines && since >= interval_) {
      emit_line();
      last_print_ = now;
    }
    if (interrupt_requested()) throw Interrupted();
  }

  void note(const std::string& name, double value) override {
    metric_ = fmt::format("{}={:.4g}", name, value);
  }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    if (style_ == ProgressStyle::Bar) {
      draw(true);
    } else if (style_ == ProgressStyle::Lines && emitted_done_ != done_) {
      emit_line();  // unless the last periodic line already said the same
    }
  }

 private:
  std::string status() const {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
    std::string eta = "?";
    if (rate > 0 && total_ > 0) eta = format_duration(std::max<double>(0, total_ - done_) / rate);
    const std::string rate_text = rate >= 1 || rate == 0 ? fmt::format("{:.1f} {}/s", rate, unit_)
                                                         : fmt::format("{:.1f} s/{}", 1 / rate, unit_);
    return fmt::format("{}/{} {} | {} | elapsed {} | ETA {}{}", done_, total_, unit_, rate_text,
                       format_duration(elapsed), eta, metric_.empty() ? "" : " | " + metric_);
  }

  void draw(bool final) {
    constexpr int width = 24;
    const double fraction = total_ > 0 ? std::min(1.0, double(done_) / total_) : 0.0;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r\033[K%s [%s%s] %3.0f%% %s%s", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), 100 * fraction, status().c_str(), final ? "\n" : "");
    std::fflush(stderr);
  }

  void emit_line() {
    emitted_done_ = done_;
    const double pct = total_ > 0 ? 100.0 * done_ / total_ : 0.0;
    on_line_(fmt::format("{}: {:.0f}% {}", label_, pct, status()));
  }

  std::string label_, unit_, metric_;
  std::int64_t total_ = 0, done_ = 0, emitted_done_ = -1;
  ProgressStyle style_;
  double interval_;
  std::function<void(const std::string&)> on_line_;
  Clock::time_point start_, last_print_;
  bool finished_ = false;
};
}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::unique_ptr<Progress> make_progress(const std::string& label, std::int64_t total, const std::string& unit,
                                        ProgressStyle style, double interval_seconds,
                                        std::function<void(const std::string&)> on_line) {
  return std::make_unique<Display>(label, total, unit, style, interval_seconds, std::move(on_line));
}

}  // namespace hebbkit::run
