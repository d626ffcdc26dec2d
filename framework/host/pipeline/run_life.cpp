#include "pipeline/run_life.hpp"

#include <cmath>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/blas.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/version.hpp"
#include "report/report.hpp"
#include "system/system_info.hpp"
#include "system/torch_facts.hpp"

namespace hebbkit::pipeline {
namespace fs = std::filesystem;

namespace {

run::PluginRecord plugin_record(const recipe::PluginUse& use) {
  return {use.path, use.name(), to_string(use.plugin->manifest->kind), fs::absolute(use.plugin->file).string(),
          system::sha256_file(use.plugin->file)};
}

run::RunManifest new_manifest(const recipe::Recipe& recipe, const RunOptions& options, const std::string& device,
                              int threads) {
  run::RunManifest m;
  m.plugins.push_back(plugin_record(recipe.dataset));
  for (const auto& layer : recipe.layers) m.plugins.push_back(plugin_record(layer));
  m.plugins.push_back(plugin_record(recipe.head));
  for (const auto& stage : recipe.stages)
    if (stage.plugin.plugin) m.plugins.push_back(plugin_record(stage.plugin));
  for (const auto& f : recipe.doc->chain) m.recipe.push_back(fs::absolute(f).string());
  m.hebbkit_version = version_string();
  m.api_version = HEBBKIT_API_VERSION;
  m.git_commit = system::git_commit();
  m.libtorch_version = system::libtorch_version();
  m.blas = system::blas_in_use();
  m.blas_core = blas_core_description();
  m.device = device;
  m.threads = threads;
  m.seed = recipe.seed;
  m.overrides = recipe.doc->overrides;
  m.command_line = options.command_line;
  m.host = system::host_name();
  m.pid = ::getpid();
  m.started = run::timestamp_now();
  if (!options.reopen.empty()) m.parent = fs::absolute(options.reopen).lexically_normal().string();
  if (recipe.reuse)
    m.reused = run::ReusedLayers{fs::absolute(recipe.reuse->run).lexically_normal().string(),
                                 static_cast<std::int64_t>(recipe.reuse->layers), recipe.reuse->readouts};
  return m;
}

}  // namespace

RunLife::RunLife(const fs::path& dir, const recipe::Recipe& recipe, const RunOptions& options,
                 const std::string& device, int threads) {
  const std::string command = fmt::format("{}", fmt::join(options.command_line, " "));
  if (options.resume) {
    store_ = std::make_unique<run::RunStore>(dir, run::RunStore::Open::Resume, command);
    std::string why;
    auto previous = run::read_manifest(dir, why);
    if (!previous) throw std::runtime_error(fmt::format("{}: {}", dir.string(), why));
    // Read again under the folder's lock: another process may have finished it meanwhile.
    if (previous->status == run::RunStatus::Completed)
      throw RecipeError(fmt::format("{}: the run completed; there is nothing to resume", dir.string()));
    manifest_ = std::move(*previous);
    auto summary = run::read_summary(dir, why);
    if (!summary)
      throw RecipeError(fmt::format("{}: {}; the run cannot continue its records as they are (delete summary.json to "
                                    "resume from model/ alone: the stages after train run again)",
                                    dir.string(), why));
    summary_ = std::move(*summary);
    manifest_.resumed.push_back(
        {run::timestamp_now(), ::getpid(), system::host_name(), threads, options.command_line, options.processes});
    manifest_.pid = ::getpid();
    manifest_.host = system::host_name();
    manifest_.ended.reset();
    manifest_.error.reset();
    // Written again in this hebbkit's schema.
    manifest_.schema = summary_.schema = run::records_schema;
  } else {
    store_ = std::make_unique<run::RunStore>(dir, run::RunStore::Open::Create, command);
    store_->write_text("recipe.resolved.yaml", recipe::to_yaml(recipe::resolved_yaml(recipe)));
    manifest_ = new_manifest(recipe, options, device, threads);
    summary_.recipe = recipe.name;
    summary_.seed = recipe.seed;
    summary_.parent = manifest_.parent;
    summary_.reused = manifest_.reused;
  }
  // This session's processes (a resume may run another number); joined() says where they are.
  manifest_.data_parallel.reset();
  if (options.processes > 1)
    manifest_.data_parallel =
        run::DataParallel{options.processes, "gloo", std::vector<std::string>(options.processes, system::host_name())};
  manifest_.status = summary_.status = run::RunStatus::Running;
  store_->write_json("manifest.json", manifest_);
}

void RunLife::joined(const std::string& backend, const std::vector<std::string>& hosts) {
  if (!manifest_.data_parallel) return;
  manifest_.data_parallel->backend = backend;
  manifest_.data_parallel->hosts = hosts;
  store_->write_json("manifest.json", manifest_);
}

void RunLife::checkpoint() {
  store_->write_json("summary.json", summary_);
  refresh_report();
}

void RunLife::refresh_report() {
  if (std::chrono::steady_clock::now() >= next_report_) write_report(/*live=*/true);
}

void RunLife::write_report(bool live) {
  const auto started = std::chrono::steady_clock::now();
  try {
    report::write_page(store_->dir() / "report.html", report::run_page(store_->dir(), live));
  } catch (const std::exception& e) {
    if (!report_warned_) {
      report_warned_ = true;
      try {
        store_->append_log(fmt::format("warning: report.html not written: {}", e.what()));
      } catch (const std::exception&) {  // the log cannot be written either: the run says so itself
      }
    }
  }
  // At most every 5 s, and never more than a tenth of the run's time on its page.
  const auto took = std::chrono::steady_clock::now() - started;
  next_report_ = std::chrono::steady_clock::now() + std::max<std::chrono::steady_clock::duration>(
                                                         std::chrono::seconds(5), 10 * took);
}

void RunLife::finish(run::RunStatus status, const std::string& error) {
  summary_.status = manifest_.status = status;
  // Over the whole process, so a resumed run reports its own session's peak.
  summary_.peak_rss_mib = std::round(system::peak_rss_mib());
  manifest_.ended = run::timestamp_now();
  if (!error.empty()) manifest_.error = error;
  // The manifest says how the run ended even when the summary cannot be written (a full
  // disk): then the run failed, and says why.
  try {
    store_->write_json("summary.json", summary_);
  } catch (const std::exception& e) {
    manifest_.status = run::RunStatus::Failed;
    manifest_.error = error.empty() ? std::string(e.what()) : error + "; then " + e.what();
    store_->write_json("manifest.json", manifest_);
    throw;
  }
  store_->write_json("manifest.json", manifest_);
  write_report(/*live=*/false);
}

}  // namespace hebbkit::pipeline
