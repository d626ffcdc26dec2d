#include "sweep/report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hebbkit/files.hpp"
#include "io/plot.hpp"

namespace hebbkit::sweep {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
  return out + "\"";
}

std::string number(double x) { return std::isfinite(x) ? fmt::format("{:.6g}", x) : std::string(); }

int rank_of(const Outcome& o) {
  switch (o.state) {
    case Outcome::State::Completed: return 0;
    case Outcome::State::Pruned: return 1;
    case Outcome::State::Failed: return 2;
    default: return 3;
  }
}

std::string percent_or_value(double x, bool percent) {
  if (!std::isfinite(x)) return "";
  return percent ? fmt::format("{:.2f}", 100 * x) : fmt::format("{:.6g}", x);
}

std::optional<std::size_t> seed_dimension(const Spec& spec) {
  for (std::size_t i = 0; i < spec.params.size(); ++i)
    if (spec.params[i].key == "seed") return i;
  return std::nullopt;
}

double trial_test_accuracy(const Folder& folder, std::size_t id) {
  return run::read_summary(folder.trial_dir(id)).test_accuracy.value_or(NAN);
}

}  // namespace

Spread spread_of(const std::vector<double>& values) {
  Spread s;
  std::vector<double> v;
  for (const double x : values)
    if (std::isfinite(x)) v.push_back(x);
  s.n = v.size();
  if (v.empty()) return s;
  double sum = 0;
  for (const double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double squares = 0;
  for (const double x : v) squares += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(squares / static_cast<double>(v.size() - 1)) : 0.0;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

std::vector<SeedGroup> over_seeds(const Folder& folder, const Spec& spec, const std::vector<Row>& rows) {
  const auto seed = seed_dimension(spec);
  if (!seed) return {};
  // Groups in the order their first trial appears.
  std::vector<std::string> keys;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> values;
  for (const auto& row : rows) {
    if (row.outcome.state != Outcome::State::Completed) continue;
    std::vector<std::string> others;
    for (std::size_t i = 0; i < spec.params.size(); ++i)
      if (i != *seed) others.push_back(fmt::format("{}={}", spec.params[i].key, spec.params[i].value_text(row.trial.point[i])));
    const std::string key = fmt::format("{}", fmt::join(others, " "));
    if (!values.count(key)) keys.push_back(key);
    values[key].first.push_back(row.outcome.value);
    values[key].second.push_back(trial_test_accuracy(folder, row.trial.id));
  }
  std::vector<SeedGroup> groups;
  for (const auto& key : keys) groups.push_back({key, spread_of(values[key].first), spread_of(values[key].second)});
  return groups;
}

std::string seeds_table(const Spec& spec, const std::vector<SeedGroup>& groups) {
  if (!seed_dimension(spec)) return "";
  const bool percent = spec.objective.find("accuracy") != std::string::npos;
  const std::string unit = percent ? " (%)" : "";
  // Test accuracy beside the objective, unless it is the objective (seeds.csv keeps both).
  const bool test_too = spec.objective != "test_accuracy";
  std::vector<std::vector<std::string>> cells = {{"parameters", "seeds", spec.objective + unit + " mean", "std", "min", "max"}};
  if (test_too)
    for (const char* head : {"test accuracy (%) mean", "std", "min", "max"}) cells.front().push_back(head);
  for (const auto& g : groups) {
    cells.push_back({g.params.empty() ? "(as the recipe)" : g.params, std::to_string(g.objective.n),
                     percent_or_value(g.objective.mean, percent), percent_or_value(g.objective.std, percent),
                     percent_or_value(g.objective.min, percent), percent_or_value(g.objective.max, percent)});
    if (test_too)
      for (const double v : {g.test_accuracy.mean, g.test_accuracy.std, g.test_accuracy.min, g.test_accuracy.max})
        cells.back().push_back(percent_or_value(v, true));
  }
  std::vector<std::size_t> width(cells.front().size(), 0);
  for (const auto& line : cells)
    for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  std::string out;
  for (const auto& line : cells) {
    for (std::size_t c = 0; c < line.size(); ++c) out += fmt::format("{:<{}}  ", line[c], width[c]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

std::vector<Row> ranked(std::vector<Row> rows, const Spec& spec) {
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    const int ra = rank_of(a.outcome), rb = rank_of(b.outcome);
    if (ra != rb) return ra < rb;
    if (ra != 0) return false;
    return spec.maximize ? a.outcome.value > b.outcome.value : a.outcome.value < b.outcome.value;
  });
  return rows;
}

void write_results(const Folder& folder, const Spec& spec, const std::vector<Row>& rows, run::RunStatus status) {
  std::string csv = "trial,status";
  for (const auto& d : spec.params) csv += "," + csv_cell(d.key);
  csv += "," + csv_cell(spec.objective) + ",seconds,error\n";
  std::map<std::string, std::int64_t> counts;
  for (const auto& row : rows) {
    csv += trial_name(row.trial.id) + "," + to_string(row.outcome.state);
    for (std::size_t i = 0; i < spec.params.size(); ++i) csv += "," + csv_cell(spec.params[i].value_text(row.trial.point[i]));
    csv += "," + number(row.outcome.value) + "," + number(row.outcome.seconds) + "," + csv_cell(row.outcome.error) + "\n";
    ++counts[to_string(row.outcome.state)];
  }
  io::write_atomic(folder.dir() / "results.csv", csv);

  const auto groups = over_seeds(folder, spec, rows);
  json seeds = json::array();
  if (seed_dimension(spec)) {
    std::string by_seed = "parameters,seeds,objective_mean,objective_std,objective_min,objective_max,"
                          "test_accuracy_mean,test_accuracy_std,test_accuracy_min,test_accuracy_max\n";
    for (const auto& g : groups) {
      by_seed += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", csv_cell(g.params), g.objective.n, number(g.objective.mean),
                             number(g.objective.std), number(g.objective.min), number(g.objective.max),
                             number(g.test_accuracy.mean), number(g.test_accuracy.std), number(g.test_accuracy.min),
                             number(g.test_accuracy.max));
      const auto stats = [](const Spread& s) {
        const auto or_null = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
        return json{{"n", s.n}, {"mean", or_null(s.mean)}, {"std", or_null(s.std)}, {"min", or_null(s.min)}, {"max", or_null(s.max)}};
      };
      seeds.push_back({{"params", g.params}, {"objective", stats(g.objective)}, {"test_accuracy", stats(g.test_accuracy)}});
    }
    io::write_atomic(folder.dir() / "seeds.csv", by_seed);
  }

  run::RunSummary summary;
  summary.kind = run::FolderKind::Sweep;
  summary.status = status;
  summary.objective = spec.objective;
  summary.mode = spec.maximize ? "max" : "min";
  summary.strategy = spec.strategy;
  summary.trials = static_cast<std::int64_t>(rows.size());
  summary.states = counts;
  if (!seeds.empty()) summary.over_seeds = seeds;
  const auto order = ranked(rows, spec);
  if (!order.empty() && order.front().outcome.state == Outcome::State::Completed) {
    const auto& best = order.front();
    summary.best = run::SweepBest{trial_name(best.trial.id), best.outcome.value,
                                  params_json(spec, best.trial.point).get<std::map<std::string, std::string>>()};
    // The best trial's headline numbers, so that `hebbkit runs` can show the sweep beside runs.
    const auto trial = run::read_summary(folder.trial_dir(best.trial.id));
    summary.test_accuracy = trial.test_accuracy;
    summary.val_accuracy = trial.val_accuracy;
  }
  io::write_atomic(folder.dir() / "summary.json", json(summary).dump(2) + "\n");
}

std::string table(const Spec& spec, const std::vector<Row>& rows, std::size_t limit) {
  std::vector<std::string> header = {"trial", "status"};
  for (const auto& d : spec.params) header.push_back(d.key);
  header.push_back(spec.objective);
  header.push_back("seconds");
  std::vector<std::vector<std::string>> cells = {header};
  const auto order = ranked(rows, spec);
  for (const auto& row : order) {
    if (limit && cells.size() > limit) break;
    std::vector<std::string> line = {trial_name(row.trial.id), to_string(row.outcome.state)};
    for (std::size_t i = 0; i < spec.params.size(); ++i) line.push_back(spec.params[i].value_text(row.trial.point[i]));
    line.push_back(number(row.outcome.value));
    line.push_back(std::isfinite(row.outcome.seconds) ? fmt::format("{:.0f}", row.outcome.seconds) : "");
    cells.push_back(line);
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& line : cells)
    for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  std::string out;
  for (const auto& line : cells) {
    for (std::size_t c = 0; c < line.size(); ++c) out += fmt::format("{:<{}}  ", line[c], width[c]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  if (limit && order.size() > limit) out += fmt::format("... {} more in results.csv\n", order.size() - limit);
  return out;
}

std::vector<std::string> write_best_and_plot(const Folder& folder, const Spec& spec, const std::vector<Row>& rows,
                                             std::string& warning) {
  std::vector<std::string> written;
  const auto order = ranked(rows, spec);
  if (order.empty() || order.front().outcome.state != Outcome::State::Completed) return written;
  const auto& best = order.front();
  io::write_atomic(folder.dir() / "best.yaml",
                   fmt::format("# The best trial of the sweep in {} (trial {}: {} = {}), with\n#   {}\n# Run it with "
                               "`hebbkit run best.yaml`.\n{}",
                               folder.dir().string(), trial_name(best.trial.id), spec.objective,
                               number(best.outcome.value), fmt::join(best.trial.overrides, " "),
                               read_text(folder.trial_dir(best.trial.id) / "recipe.resolved.yaml")));
  written.push_back((folder.dir() / "best.yaml").string());

  std::vector<io::Panel> panels;
  for (std::size_t i = 0; i < spec.params.size(); ++i) {
    const auto& d = spec.params[i];
    io::Panel panel;
    panel.title = d.key;
    panel.ylabel = spec.objective;
    panel.xlabel = d.key;
    const bool labelled = d.kind == Dimension::Kind::Choice && !d.numeric_choices();
    if (labelled) {
      std::vector<std::string> names;
      for (std::size_t c = 0; c < d.choices.size(); ++c) names.push_back(fmt::format("{}={}", c, d.choices[c]));
      panel.xlabel = fmt::format("{} ({})", d.key, fmt::join(names, " "));
    }
    panel.log_x = d.log;
    io::Series series;
    series.title = "completed trials";
    series.points_only = true;
    for (const auto& row : rows)
      if (row.outcome.state == Outcome::State::Completed) {
        const double x = row.trial.point[i];
        series.x.push_back(d.kind == Dimension::Kind::Choice && !labelled ? std::stod(d.choices[static_cast<std::size_t>(x)]) : x);
        series.y.push_back(row.outcome.value);
      }
    panel.series.push_back(series);
    panels.push_back(panel);
  }
  try {
    io::plot_panels(folder.dir() / "objective.png", panels);
    written.push_back((folder.dir() / "objective.png").string());
  } catch (const std::exception& e) {
    warning = e.what();
  }
  return written;
}

}  // namespace hebbkit::sweep
