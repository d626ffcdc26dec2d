// `hebbkit compare RUN_DIR...`: several runs side by side (and `hebbkit report`, which writes the HTML page). The classifier's training curves
// (loss, train and validation accuracy per epoch) of every run on shared charts, accuracy
// against epsilon per attack on shared charts, and the summaries as a terminal table,
// compare.csv and compare.md. A run made by `hebbkit evaluate` borrows its parent's curves
// and accuracies where it has none of its own.
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
#include "io/plot.hpp"
#include "report/report.hpp"
#include "run/metrics_log.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"

namespace hebbkit::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct RunView {
  std::string label;  // the run folder's name
  run::RunStatus status = run::RunStatus::Running;  // as `hebbkit runs` shows it (killed included)
  run::RunSummary summary;
  run::RunSummary parent_summary;
  run::Curves curves;
};

std::string percent(const std::optional<double>& value) {
  return value ? fmt::format("{:.2f}", 100 * *value) : std::string("-");
}

const run::RunSummary& accuracies_of(const RunView& run) {
  return run.summary.test_accuracy ? run.summary : run.parent_summary;
}

// The file that marks a folder as compare's output: a later compare may replace it.
constexpr const char* marker = "compare.json";

int write_comparison(const std::vector<fs::path>& dirs, fs::path out) {
  std::vector<RunView> runs;
  for (const auto& dir : dirs) {
    if (!fs::exists(dir / "manifest.json"))
      throw RecipeError(fmt::format("{}: not a run folder (manifest.json missing)", dir.string()));
    std::string why;
    const auto manifest = run::read_manifest(dir, why);
    if (!manifest) throw RecipeError(fmt::format("{}: {}", dir.string(), why));
    RunView run;
    run.status = manifest->live_status(dir);
    run.label = fs::absolute(dir).lexically_normal().filename().string();
    if (run.label.empty()) run.label = dir.string();
    run.summary = run::read_summary(dir);
    run.curves = run::read_curves(dir / "metrics.jsonl");
    if (run.summary.parent) {
      const fs::path parent = *run.summary.parent;
      run.parent_summary = run::read_summary(parent);
      if (run.curves.empty()) run.curves = run::read_curves(parent / "metrics.jsonl");
    }
    runs.push_back(std::move(run));
  }
  if (out.empty()) out = run::RunStore::new_run_dir("runs", "compare");
  run::claim_output_folder(out, marker, "--out");
  json record = {{"kind", "compare"}, {"written", run::timestamp_now()}, {"runs", json::array()}};
  for (const auto& dir : dirs) record["runs"].push_back(fs::absolute(dir).lexically_normal().string());
  io::write_atomic(out / marker, record.dump(2) + "\n");

  // Training curves: one panel per metric, one series per run.
  std::vector<io::Panel> panels;
  for (const char* metric : {"loss", "train_accuracy", "val_accuracy"}) {
    io::Panel panel{metric, "epoch", metric, {}, std::string(metric) == "loss"};
    for (const auto& run : runs)
      if (const run::Curve* c = run::classifier_curve(run.curves, metric))
        panel.series.push_back({run.label, c->epochs, c->values});
    if (!panel.series.empty()) panels.push_back(std::move(panel));
  }
  std::vector<fs::path> written;
  if (!panels.empty()) {
    io::plot_panels(out / "compare_training.png", panels);
    written.push_back(out / "compare_training.png");
  }

  // Attacks: one chart per attack and norm, accuracy against epsilon per run.
  std::map<std::string, io::Panel> attack_panels;
  std::set<std::string> columns;  // "fgsm linf @0.1"
  std::map<std::string, std::map<std::string, double>> attack_cells;  // run -> column -> accuracy
  for (const auto& run : runs) {
    for (const auto& [path, entry] : run.summary.attacks) {
      const std::string key = fmt::format("{} {}", entry.attack, entry.norm);
      auto& panel = attack_panels[key];
      panel.title = key;
      panel.xlabel = "epsilon";
      panel.ylabel = "test accuracy";
      const auto& eps = entry.epsilons;
      const auto& acc = entry.accuracy;
      panel.series.push_back({run.label, eps, acc});
      for (std::size_t i = 0; i < eps.size() && i < acc.size(); ++i) {
        const std::string column = fmt::format("{} @{}", key, eps[i]);
        columns.insert(column);
        attack_cells[run.label][column] = acc[i];
      }
    }
  }
  for (const auto& [key, panel] : attack_panels) {
    const auto file = out / fmt::format("compare_attack_{}.png", io::file_safe(key));
    io::plot_panels(file, {panel});
    written.push_back(file);
  }

  // The table: terminal, CSV and markdown.
  std::vector<std::string> header = {"run", "recipe", "status", "test %", "val %", "train %"};
  for (const auto& c : columns) header.push_back(c + " %");
  std::vector<std::vector<std::string>> rows;
  for (const auto& run : runs) {
    const auto& acc = accuracies_of(run);
    std::vector<std::string> row = {run.label, run.summary.recipe.empty() ? "?" : run.summary.recipe,
                                    to_string(run.status), percent(acc.test_accuracy),
                                    percent(acc.val_accuracy), percent(acc.train_accuracy)};
    for (const auto& c : columns) {
      const auto& cells = attack_cells[run.label];
      const auto it = cells.find(c);
      row.push_back(it == cells.end() ? "-" : fmt::format("{:.2f}", 100 * it->second));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    width[i] = header[i].size();
    for (const auto& row : rows) width[i] = std::max(width[i], row[i].size());
  }
  const auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) fmt::print("{:<{}}  ", row[i], width[i]);
    fmt::print("\n");
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);

  std::string csv = fmt::format("{}\n", fmt::join(header, ","));
  std::string md = fmt::format("| {} |\n|", fmt::join(header, " | "));
  for (std::size_t i = 0; i < header.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& row : rows) {
    csv += fmt::format("{}\n", fmt::join(row, ","));
    md += fmt::format("| {} |\n", fmt::join(row, " | "));
  }
  io::write_atomic(out / "compare.csv", csv);
  io::write_atomic(out / "compare.md", md);
  report::write_page(out / "report.html", report::comparison_page(dirs));
  written.push_back(out / "compare.csv");
  written.push_back(out / "compare.md");
  written.push_back(out / "report.html");
  for (const auto& file : written) fmt::print("wrote {}\n", file.string());
  return 0;
}

}  // namespace

namespace {
// A command's errors as its exit code (docs/recipes.md, "Exit codes"): 2 for what the user
// gave, 1 for what failed while working.
int reported(const char* command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const RecipeError& e) {
    fmt::print(stderr, "hebbkit: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hebbkit: error: {}: {}\n", command, e.what());
    return 1;
  }
}
}  // namespace

int compare_runs(const std::vector<fs::path>& dirs, const fs::path& out) {
  if (dirs.size() < 2) {
    fmt::print(stderr, "hebbkit: error: compare needs at least two run folders\n");
    return 2;
  }
  return reported("compare", [&] { return write_comparison(dirs, out); });
}

int write_report(const std::vector<fs::path>& paths, const fs::path& out) {
  return reported("report", [&] {
    fmt::print("{}\n", fs::absolute(report::write_report(paths, out)).lexically_normal().string());
    return 0;
  });
}

}  // namespace hebbkit::cli
