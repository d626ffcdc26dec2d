// A sweep's page: its trials, the objective over trials and against each parameter.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/html.hpp"
#include "report/pages.hpp"
#include "report/report.hpp"
#include "report/svg_chart.hpp"
#include "run/run_records.hpp"

namespace hebbkit::report {
namespace fs = std::filesystem;

std::string sweep_page(const sweep::Folder& folder, const sweep::Spec& spec, const std::vector<sweep::Row>& rows,
                       run::RunStatus status) {
  using State = sweep::Outcome::State;
  std::string why;
  const auto manifest = run::read_manifest(folder.dir(), why);
  Page page(fmt::format("Sweep {}", folder.dir().filename().string()), status == run::RunStatus::Running);

  const auto order = sweep::ranked(rows, spec);
  std::map<std::string, int> states;
  for (const auto& r : rows) ++states[sweep::to_string(r.outcome.state)];
  std::string counted;
  for (const auto& [state, n] : states) counted += fmt::format("{}{} {}", counted.empty() ? "" : ", ", n, state);
  std::vector<std::pair<std::string, std::string>> facts_rows = {
      {"status", status_badge(status)},
      {"search", escape(fmt::format("{}, objective {} ({})", spec.strategy, spec.objective, spec.maximize ? "max" : "min"))},
      {"trials", escape(counted.empty() ? "none yet" : counted)}};
  for (const auto& d : spec.params) facts_rows.push_back({"parameter", "<code>" + escape(d.key) + "</code> " + escape(d.describe())});
  if (manifest && manifest->error) facts_rows.push_back({"error", "<span class=\"error\">" + escape(*manifest->error) + "</span>"});
  if (!order.empty() && order.front().outcome.state == State::Completed) {
    const auto& best = order.front();
    facts_rows.push_back({"best", fmt::format("trial {}: {} = {} ({})", sweep::trial_name(best.trial.id),
                                              escape(spec.objective),
                                              summary_number("best.value", best.outcome.value, false),
                                              escape(fmt::format("{}", fmt::join(best.trial.overrides, " "))))});
  }
  page.section("summary", "Summary", facts(facts_rows));

  std::vector<std::string> header = {"trial", "status"};
  for (const auto& d : spec.params) header.push_back(d.key);
  header.insert(header.end(), {spec.objective, "test", "seconds", "note"});
  std::vector<std::vector<std::string>> table_rows;
  for (const auto& r : order) {
    std::vector<std::string> row = {sweep::trial_name(r.trial.id), escape(sweep::to_string(r.outcome.state))};
    for (std::size_t i = 0; i < spec.params.size() && i < r.trial.point.size(); ++i)
      row.push_back(escape(spec.params[i].value_text(r.trial.point[i])));
    const auto summary = run::read_summary(folder.trial_dir(r.trial.id));
    row.push_back(std::isfinite(r.outcome.value)
                      ? "<td class=\"num\">" + summary_number(fmt::format("trials.{}.{}", r.trial.id, spec.objective),
                                                              r.outcome.value, false) + "</td>"
                      : "<td>-</td>");
    row.push_back(summary.test_accuracy ? "<td class=\"num\">" + fmt::format("{:.2f}%", 100 * *summary.test_accuracy) + "</td>"
                                        : "<td>-</td>");
    row.push_back(std::isfinite(r.outcome.seconds) ? "<td class=\"num\">" + fmt::format("{:.1f}", r.outcome.seconds) + "</td>"
                                                   : "<td>-</td>");
    row.push_back(escape(r.outcome.error));
    table_rows.push_back(std::move(row));
  }
  page.section("trials", "Trials (click a column to sort)", table(header, table_rows, true));

  // The objective over trials, and against each parameter (a choice by its index).
  io::Series over{"completed", {}, {}, true}, best_so_far{"best so far", {}, {}};
  double best = NAN;
  std::vector<io::Panel> per_param;
  for (const auto& d : spec.params) {
    std::string title = d.key;
    if (d.kind == sweep::Dimension::Kind::Choice && !d.numeric_choices()) {
      std::vector<std::string> named;
      for (std::size_t i = 0; i < d.choices.size(); ++i) named.push_back(fmt::format("{}={}", i, d.choices[i]));
      title += " (" + fmt::format("{}", fmt::join(named, ", ")) + ")";
    }
    bool log = d.log;
    if (d.kind == sweep::Dimension::Kind::Choice && d.numeric_choices()) {  // 0.001, 0.01, 0.1: a log axis
      std::vector<double> values;
      for (const auto& c : d.choices) values.push_back(std::stod(c));
      const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
      log = *lo > 0 && *hi >= 100 * *lo;
    }
    per_param.push_back({title, d.key, spec.objective, {{"completed", {}, {}, true}}, false, log});
  }
  for (const auto& r : rows) {
    if (r.outcome.state != State::Completed || !std::isfinite(r.outcome.value)) continue;
    over.x.push_back(static_cast<double>(r.trial.id));
    over.y.push_back(r.outcome.value);
    for (std::size_t i = 0; i < per_param.size() && i < r.trial.point.size(); ++i) {
      const auto& d = spec.params[i];
      const double x = d.kind == sweep::Dimension::Kind::Choice && d.numeric_choices()
                           ? std::stod(d.choices.at(static_cast<std::size_t>(r.trial.point[i])))
                           : r.trial.point[i];
      per_param[i].series[0].x.push_back(x);
      per_param[i].series[0].y.push_back(r.outcome.value);
    }
  }
  std::vector<std::pair<double, double>> by_id;
  for (std::size_t i = 0; i < over.x.size(); ++i) by_id.emplace_back(over.x[i], over.y[i]);
  std::sort(by_id.begin(), by_id.end());
  for (const auto& [id, value] : by_id) {
    best = std::isnan(best) ? value : spec.maximize ? std::max(best, value) : std::min(best, value);
    best_so_far.x.push_back(id);
    best_so_far.y.push_back(best);
  }
  std::string charts = "<div class=\"charts\">" +
                       svg_chart({"objective over trials", "trial", spec.objective, {over, best_so_far}, false});
  for (const auto& panel : per_param) charts += svg_chart(panel);
  page.section("objective", "Objective", charts + "</div>");

  std::vector<std::vector<std::string>> stopped;
  for (const auto& r : rows)
    if (r.outcome.state == State::Failed || r.outcome.state == State::Pruned || r.outcome.state == State::Unfinished)
      stopped.push_back({sweep::trial_name(r.trial.id), escape(sweep::to_string(r.outcome.state)),
                         escape(fmt::format("{}", fmt::join(r.trial.overrides, " "))), escape(r.outcome.error)});
  page.section("stopped", "Pruned and failed trials",
               stopped.empty() ? "<p>None.</p>" : table({"trial", "status", "parameters", "why"}, stopped));

  const std::string best_yaml = sweep::read_text(folder.dir() / "best.yaml");
  page.section("best", "Best recipe",
               best_yaml.empty() ? "<p class=\"note\">No trial has completed yet.</p>"
                                 : "<p>best.yaml, runnable as it is:</p><pre>" + escape(best_yaml) + "</pre>");
  if (manifest)
    page.section("manifest", "Manifest",
                 facts({{"command", "<code>" + escape(fmt::format("{}", fmt::join(manifest->command_line, " "))) + "</code>"},
                        {"executor", escape(fmt::format("{}, {} job(s) at once, {} thread(s) per trial", manifest->executor,
                                                        manifest->jobs, manifest->threads_per_trial))},
                        {"machine", escape(fmt::format("{} (pid {})", manifest->host, manifest->pid))},
                        {"started", escape(manifest->started)},
                        {"ended", escape(manifest->ended.value_or("-"))}}));
  return page.html();
}

std::string sweep_page(const fs::path& dir) {
  const sweep::Spec spec = sweep::spec_from_yaml(YAML::LoadFile((dir / "sweep.yaml").string()));
  const sweep::Folder folder(dir);
  std::vector<sweep::Row> rows;
  for (auto& trial : folder.read_trials(spec)) rows.push_back({trial, folder.outcome(trial, spec)});
  std::string why;
  const auto manifest = run::read_manifest(dir, why);
  return sweep_page(folder, spec, rows, manifest ? manifest->live_status(dir) : run::RunStatus::Running);
}

}  // namespace hebbkit::report
