// Several runs side by side.
#include <map>
#include <set>

#include <fmt/format.h>

#include "recipe/document.hpp"
#include "report/html.hpp"
#include "report/pages.hpp"
#include "report/report.hpp"
#include "report/svg_chart.hpp"
#include "run/metrics_log.hpp"
#include "run/run_records.hpp"

namespace hebbkit::report {
namespace fs = std::filesystem;

namespace {

struct Compared {
  std::string label;
  run::RunStatus status = run::RunStatus::Running;
  run::RunSummary summary, parent_summary;
  run::Curves curves;
  std::map<std::string, std::string> recipe;  // key path -> value
  // A run made by `evaluate` borrows its parent's numbers where it has none of its own.
  const run::RunSummary& accuracies() const { return summary.test_accuracy ? summary : parent_summary; }
};

std::string percent_cell(const std::string& key, const std::optional<double>& value) {
  return value ? "<td class=\"num\">" + summary_number(key, *value, true) + "</td>" : "<td>-</td>";
}

}  // namespace

std::string comparison_page(const std::vector<fs::path>& dirs) {
  std::vector<Compared> runs;
  for (const auto& dir : dirs) {
    std::string why;
    const auto manifest = run::read_manifest(dir, why);
    if (!manifest) throw std::runtime_error(fmt::format("{}: {}", dir.string(), why));
    Compared c;
    c.label = fs::absolute(dir).lexically_normal().filename().string();
    c.status = manifest->live_status(dir);
    c.summary = run::read_summary(dir);
    c.curves = run::read_curves(dir / "metrics.jsonl");
    if (c.summary.parent) {
      c.parent_summary = run::read_summary(*c.summary.parent);
      if (c.curves.empty()) c.curves = run::read_curves(fs::path(*c.summary.parent) / "metrics.jsonl");
    }
    try {
      c.recipe = recipe::leaf_values(recipe::load(dir / "recipe.resolved.yaml").root);
    } catch (const std::exception&) {
    }
    runs.push_back(std::move(c));
  }
  Page page(fmt::format("Comparison of {} runs", runs.size()), false);

  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    const auto& acc = r.accuracies();
    rows.push_back({escape(r.label), escape(r.summary.recipe), status_badge(r.status),
                    percent_cell(r.label + ".test_accuracy", acc.test_accuracy),
                    percent_cell(r.label + ".val_accuracy", acc.val_accuracy),
                    percent_cell(r.label + ".train_accuracy", acc.train_accuracy),
                    "<td class=\"num\">" + fmt::format("{:.1f}", r.summary.total_seconds()) + "</td>"});
  }
  page.section("runs", "Runs", table({"run", "recipe", "status", "test", "validation", "train", "seconds"}, rows, true));

  std::string charts = "<div class=\"charts\">";
  for (const char* metric : {"loss", "train_accuracy", "val_accuracy"}) {
    io::Panel panel{metric, "epoch", metric, {}, std::string(metric) == "loss"};
    for (const auto& r : runs)
      if (const run::Curve* c = run::classifier_curve(r.curves, metric)) panel.series.push_back({r.label, c->epochs, c->values});
    if (!panel.series.empty()) charts += svg_chart(panel);
  }
  page.section("curves", "Training curves (the classifier)", charts + "</div>");

  std::map<std::string, io::Panel> attacks;
  for (const auto& r : runs)
    for (const auto& [path, a] : r.summary.attacks) {
      auto& panel = attacks[a.attack + " " + a.norm];
      panel.title = a.attack + " (" + a.norm + ")";
      panel.xlabel = "epsilon";
      panel.ylabel = "test accuracy";
      panel.series.push_back({r.label, a.epsilons, a.accuracy});
    }
  if (!attacks.empty()) {
    std::string out = "<div class=\"charts\">";
    for (const auto& [key, panel] : attacks) out += svg_chart(panel);
    page.section("robustness", "Robustness", out + "</div>");
  }

  // Only the keys whose values differ: what makes these runs different.
  std::set<std::string> keys;
  for (const auto& r : runs)
    for (const auto& [key, value] : r.recipe) keys.insert(key);
  std::vector<std::vector<std::string>> differ;
  for (const auto& key : keys) {
    std::vector<std::string> row = {"<code>" + escape(key) + "</code>"};
    std::set<std::string> values;
    for (const auto& r : runs) {
      const auto it = r.recipe.find(key);
      const std::string value = it == r.recipe.end() ? "(absent)" : it->second;
      values.insert(value);
      row.push_back(escape(value));
    }
    if (values.size() > 1) differ.push_back(std::move(row));
  }
  std::vector<std::string> header = {"key"};
  for (const auto& r : runs) header.push_back(r.label);
  page.section("recipes", "How the recipes differ",
               differ.empty() ? "<p>The resolved recipes are the same.</p>" : table(header, differ));
  return page.html();
}

}  // namespace hebbkit::report
