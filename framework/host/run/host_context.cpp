#include "run/host_context.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "run/signals.hpp"

namespace hebbkit::run {

HostContext::HostContext(RunStore& store, torch::Device device, std::uint64_t seed, ProgressStyle style)
    : store_(store), device_(device), seed_(seed), style_(style), start_(std::chrono::steady_clock::now()) {}

void HostContext::line(const std::string& level, const std::string& message) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string where = scope_.empty() ? stage_ : stage_ + " " + scope_;
  const std::string text = fmt::format("[{:8.1f}s] {}{}: {}", t, level, where, message);
  std::fprintf(stderr, "%s\n", text.c_str());  // first: the line is seen even if log.txt fails
  store_.append_log(text);
}

void HostContext::info(const std::string& message) { line("", message); }

void HostContext::log_only(const std::string& message) noexcept {
  try {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    store_.append_log(fmt::format("[{:8.1f}s] {}: {}", t, stage_, message));
  } catch (...) {
  }
}
void HostContext::warn(const std::string& message) { line("warning: ", message); }

void HostContext::metric(const std::string& name, double value, std::int64_t epoch, std::int64_t step) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  nlohmann::json record = {{"stage", stage_}, {"scope", scope_}, {"name", name}, {"value", value}, {"seconds", t}};
  record["epoch"] = epoch >= 0 ? nlohmann::json(epoch) : nlohmann::json(nullptr);
  record["step"] = step >= 0 ? nlohmann::json(step) : nlohmann::json(nullptr);
  store_.append_metric(record);
  history_.push_back({stage_, scope_, name, epoch, step, value});
  if (watch_)
    if (auto why = watch_(history_.back())) throw Pruned(*why);
}

std::unique_ptr<Progress> HostContext::progress(const std::string& label, std::int64_t total, const std::string& unit) {
  double interval = 10.0;
  if (const char* env = std::getenv("HEBBKIT_PROGRESS_SECONDS")) interval = std::atof(env);
  // Plain lines go through line(), which already names the scope; the bar does not.
  const std::string shown = style_ == ProgressStyle::Bar && !scope_.empty() ? scope_ + " " + label : label;
  return make_progress(shown, total, unit, style_, interval, [this](const std::string& text) { line("", text); });
}

void HostContext::load_history(const std::filesystem::path& metrics_file) {
  std::ifstream in(metrics_file);
  for (std::string line; std::getline(in, line);) {
    try {
      const auto r = nlohmann::json::parse(line);
      history_.push_back({r.at("stage").get<std::string>(), r.at("scope").get<std::string>(),
                          r.at("name").get<std::string>(), r["epoch"].is_number() ? r["epoch"].get<std::int64_t>() : -1,
                          r["step"].is_number() ? r["step"].get<std::int64_t>() : -1, r.at("value").get<double>()});
    } catch (const std::exception&) {
      // A line cut short by a kill is skipped; the plot loses one point, not the run.
    }
  }
}

void HostContext::check_interrupted() const {
  if (interrupt_requested()) throw Interrupted();
}

}  // namespace hebbkit::run
