// A run folder's report page.
#include <algorithm>
#include <numeric>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "recipe/document.hpp"
#include "report/html.hpp"
#include "report/pages.hpp"
#include "report/report.hpp"
#include "report/svg_chart.hpp"
#include "run/metrics_log.hpp"
#include "run/run_records.hpp"
#include "sweep/folder.hpp"

namespace hebbkit::report {
namespace fs = std::filesystem;

namespace {

std::string curves_section(const run::Curves& curves) {
  if (curves.empty()) return "<p class=\"note\">No per-epoch metrics yet.</p>";
  std::string out;
  for (const auto& [scope, metrics] : curves) {
    out += "<h3>" + escape(scope) + "</h3><div class=\"charts\">\n";
    for (const auto& [name, curve] : metrics) {
      io::Panel panel{name, "epoch", name, {{scope, curve.epochs, curve.values}}, false};
      // Losses and convergence measures span decades: a log axis when every value is positive.
      const bool positive = std::all_of(curve.values.begin(), curve.values.end(), [](double v) { return v > 0; });
      const auto [lo, hi] = std::minmax_element(curve.values.begin(), curve.values.end());
      panel.log_y = positive && !curve.values.empty() && *hi > 100 * *lo;
      out += svg_chart(panel, 360, 240);
    }
    out += "</div>\n";
  }
  return out;
}

std::string robustness_section(const run::RunSummary& summary) {
  std::string charts = "<div class=\"charts\">", rows;
  std::vector<std::vector<std::string>> table_rows;
  for (const auto& [path, a] : summary.attacks) {
    io::Panel panel{fmt::format("{} ({}), {}", a.attack, a.norm, path), "epsilon", "test accuracy",
                    {{a.attack, a.epsilons, a.accuracy}}, false};
    charts += svg_chart(panel);
    for (std::size_t i = 0; i < a.epsilons.size() && i < a.accuracy.size(); ++i)
      table_rows.push_back({escape(path), escape(a.attack), escape(a.norm), fmt::format("{:g}", a.epsilons[i]),
                            summary_number(fmt::format("attacks.{}.accuracy.{}", path, i), a.accuracy[i], true),
                            fmt::format("{:.2f}%", 100 * a.clean_accuracy), std::to_string(a.images)});
  }
  return charts + "</div>\n" +
         table({"stage", "attack", "norm", "epsilon", "accuracy", "clean", "images"}, table_rows);
}

std::string figures_section(const fs::path& dir, const run::RunSummary& summary) {
  std::string out = "<div class=\"images\">";
  std::size_t shown = 0;
  for (const auto& artifact : summary.artifacts) {
    const fs::path file = dir / artifact;
    const std::string name = file.filename().string();
    // Curves and attack charts are drawn above as SVG; their gnuplot PNGs stay in artifacts/.
    if (file.extension() != ".png" || name.rfind("curves_", 0) == 0 || name.rfind("attack_", 0) == 0) continue;
    const std::string img = embed_png(file, name);
    if (img.empty()) continue;
    out += "<h3>" + escape(artifact) + "</h3>" + img + "\n";
    ++shown;
  }
  return shown ? out + "</div>" : "<p class=\"note\">No figures (the recipe has no plot stage, or it has not run yet).</p>";
}

// "mnist [flatten, center, unit_norm] → krotov → head krotov; stages train, evaluate": the
// recipe in one line, for a reader who has not opened it.
std::string what_ran(const fs::path& dir) {
  try {
    const YAML::Node root = recipe::load(dir / "recipe.resolved.yaml").root;
    const auto name_of = [](const YAML::Node& node) {
      return node && node["name"] && node["name"].IsScalar() ? node["name"].Scalar() : std::string("?");
    };
    std::string out = name_of(root["dataset"]);
    if (const auto pre = root["dataset"]["preprocess"]; pre && pre.IsSequence() && pre.size() > 0) {
      std::vector<std::string> steps;
      for (const auto& step : pre) steps.push_back(step.IsScalar() ? step.Scalar() : "...");
      out += fmt::format(" [{}]", fmt::join(steps, ", "));
    }
    if (const auto layers = root["layers"]; layers && layers.IsSequence())
      for (const auto& layer : layers) out += " → " + name_of(layer["rule"]);
    out += " → head " + name_of(root["head"]);
    if (const auto stages = root["stages"]; stages && stages.IsSequence()) {
      std::vector<std::string> names;
      for (const auto& stage : stages)
        names.push_back(stage.IsScalar() ? stage.Scalar() : stage.IsMap() ? stage.begin()->first.Scalar() : "?");
      out += fmt::format("; stages {}", fmt::join(names, ", "));
    }
    return out;
  } catch (const std::exception&) {
    return "";  // the recipe section says why it cannot be read
  }
}

}  // namespace

std::string recipe_section(const fs::path& dir, const run::RunManifest& manifest) {
  const std::string resolved = sweep::read_text(dir / "recipe.resolved.yaml");
  std::string out;
  if (!manifest.recipe.empty()) {
    const fs::path file = manifest.recipe.front();
    try {
      const auto committed = recipe::leaf_values(recipe::load(file).root);
      const auto ran = recipe::leaf_values(recipe::load(dir / "recipe.resolved.yaml").root);
      std::vector<std::vector<std::string>> rows;
      for (const auto& [key, value] : ran)
        if (const auto it = committed.find(key); it == committed.end() || it->second != value)
          rows.push_back({escape(key), it == committed.end() ? "<i>absent</i>" : escape(it->second), escape(value)});
      for (const auto& [key, value] : committed)
        if (!ran.count(key)) rows.push_back({escape(key), escape(value), "<i>absent</i>"});
      out += fmt::format("<p>From <code>{}</code>{}.</p>", escape(file.string()),
                         rows.empty() ? ", unchanged" : ", with these differences (--set, defaults written out, the file edited since)");
      if (!rows.empty()) out += table({"key", "in the recipe file now", "in this run"}, rows);
    } catch (const std::exception& e) {
      out += fmt::format("<p class=\"note\">The recipe file {} cannot be compared: {}</p>", escape(file.string()),
                         escape(e.what()));
    }
  }
  return out + "<h3>recipe.resolved.yaml</h3><pre>" + escape(resolved) + "</pre>";
}

std::string manifest_section(const run::RunManifest& m) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"hebbkit", escape(fmt::format("{} (API {}), git {}", m.hebbkit_version, m.api_version, m.git_commit))},
      {"LibTorch", escape(m.libtorch_version)},
      {"BLAS", escape(fmt::format("{}{}", fmt::join(m.blas, ", "), m.blas_core.empty() ? "" : " | kernels " + m.blas_core))},
      {"machine", escape(fmt::format("{} (pid {}), device {}, {} thread(s)", m.host, m.pid, m.device, m.threads))},
      {"seed", std::to_string(m.seed)},
      {"command", "<code>" + escape(fmt::format("{}", fmt::join(m.command_line, " "))) + "</code>"},
      {"started", escape(m.started)},
      {"ended", escape(m.ended.value_or("-"))}};
  if (m.parent) rows.push_back({"reopened", escape(*m.parent)});
  if (m.reused) rows.push_back({"layers reused", escape(fmt::format("{} from {}", m.reused->layers, m.reused->run))});
  for (const auto& r : m.resumed)
    rows.push_back({"resumed", escape(fmt::format("{} on {} (pid {}), {} thread(s)", r.at, r.host, r.pid, r.threads))});
  std::vector<std::vector<std::string>> plugins;
  for (const auto& p : m.plugins)
    plugins.push_back({escape(p.path), escape(p.name), escape(p.kind), "<code>" + escape(p.sha256.substr(0, 16)) + "</code>",
                       escape(p.file)});
  return facts(rows) + "<h3>Plugins</h3>" + table({"at", "plugin", "kind", "sha256 (first 16)", "library"}, plugins);
}

std::string status_badge(run::RunStatus status) {
  const std::string name = to_string(status);
  return fmt::format("<span class=\"badge {0}\">{0}</span>", escape(name));
}

std::string run_page(const fs::path& dir, bool live) {
  std::string why;
  const auto manifest = run::read_manifest(dir, why);
  if (!manifest) throw std::runtime_error(fmt::format("{}: {}", dir.string(), why));
  const auto summary = run::read_summary(dir);
  const auto status = live ? run::RunStatus::Running : manifest->live_status(dir);
  const std::string name = summary.recipe.empty() ? dir.filename().string() : summary.recipe;
  Page page(fmt::format("{} — {}", name, dir.filename().string()), live);

  // Accuracies of a run made by `evaluate` are its own; a run's curves may be its parent's.
  std::vector<std::pair<std::string, std::string>> rows = {{"status", status_badge(status)}};
  if (const auto what = what_ran(dir); !what.empty()) rows.push_back({"what ran", escape(what)});
  if (manifest->error) rows.push_back({"error", "<span class=\"error\">" + escape(*manifest->error) + "</span>"});
  for (const auto& [label, field, value] : {std::tuple{"test accuracy", "test_accuracy", summary.test_accuracy},
                                            std::tuple{"validation accuracy", "val_accuracy", summary.val_accuracy},
                                            std::tuple{"train accuracy", "train_accuracy", summary.train_accuracy}})
    if (value) rows.push_back({label, summary_number(field, *value, true)});
  if (summary.data)
    rows.push_back({"data", escape(fmt::format("{} train / {} validation / {} test images, {} classes{}", summary.data->train,
                                               summary.data->validation, summary.data->test, summary.data->classes.size(),
                                               summary.data->root.empty() ? "" : " (" + summary.data->root + ")"))});
  rows.push_back({"time", escape(fmt::format("{:.1f} s over the stages", summary.total_seconds()))});
  if (summary.peak_rss_mib) rows.push_back({"peak memory", escape(fmt::format("{:.0f} MiB", *summary.peak_rss_mib))});
  rows.push_back({"folder", "<code>" + escape(fs::absolute(dir).lexically_normal().string()) + "</code>"});
  page.section("summary", "Summary", facts(rows));

  // In the order they ran: data, the finished stages, then the one that stopped.
  std::vector<std::string> order = {"data"};
  order.insert(order.end(), summary.stages_done.begin(), summary.stages_done.end());
  for (const auto& [stage, seconds] : summary.seconds)
    if (std::find(order.begin(), order.end(), stage) == order.end()) order.push_back(stage);
  std::vector<std::vector<std::string>> stages;
  for (const auto& stage : order) {
    const auto found = summary.seconds.find(stage);
    if (found == summary.seconds.end()) continue;
    const double seconds = found->second;
    const bool done = std::find(summary.stages_done.begin(), summary.stages_done.end(), stage) != summary.stages_done.end();
    stages.push_back({escape(stage), "<td class=\"num\">" + fmt::format("{:.2f}", seconds) + "</td>",
                      done ? "done" : stage == "data" || stage == "setup" ? "" : "not finished"});
  }
  page.section("stages", "Stages", table({"stage", "seconds", ""}, stages));

  auto curves = run::read_curves(dir / "metrics.jsonl");
  if (curves.empty() && summary.parent) curves = run::read_curves(fs::path(*summary.parent) / "metrics.jsonl");
  page.section("curves", "Learning curves", curves_section(curves));
  if (!summary.attacks.empty()) page.section("robustness", "Robustness", robustness_section(summary));
  page.section("figures", "Figures", figures_section(dir, summary));
  page.section("recipe", "Recipe", recipe_section(dir, *manifest));
  page.section("manifest", "Manifest", manifest_section(*manifest));
  return page.html();
}

}  // namespace hebbkit::report
