#include "sweep/sweep.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "plugins/registry.hpp"
#include "recipe/recipe.hpp"
#include "report/report.hpp"
#include "pipeline/lifecycle.hpp"
#include "run/run_lock.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"
#include "run/signals.hpp"
#include "sweep/executor.hpp"
#include "sweep/folder.hpp"
#include "system/command.hpp"
#include "system/process.hpp"
#include "sweep/pruner.hpp"
#include "sweep/report.hpp"
#include "sweep/search.hpp"
#include "system/system_info.hpp"

namespace hebbkit::sweep {
namespace fs = std::filesystem;
using system::tail;
using system::own_executable;
using nlohmann::json;

namespace {

recipe::Document copy(const recipe::Document& doc) {
  recipe::Document out = doc;
  out.root = YAML::Clone(doc.root);
  return out;
}

// Every value a dimension can take that is cheap to name (choices, range ends), each in the
// base recipe alone: a mistyped key or an out-of-range value is refused before anything runs.
void probe(const recipe::Document& base, const Spec& spec) {
  const auto& registry = plugins::default_registry();
  for (const auto& d : spec.params) {
    std::vector<double> values;
    if (d.kind == Dimension::Kind::Choice)
      for (std::size_t c = 0; c < d.choices.size(); ++c) values.push_back(static_cast<double>(c));
    else
      values = {d.lo, d.hi};
    for (const double v : values) {
      recipe::Document doc = copy(base);
      const std::string text = d.key + "=" + d.value_text(v);
      try {
        recipe::apply_override(doc, text);
        recipe::resolve(std::move(doc), registry);
      } catch (const RecipeError& e) {
        throw RecipeError(fmt::format("{}: trying {}: {}", d.origin, text, e.what()));
      }
    }
  }
}

// A validation number as the objective of a recipe without a validation split would fail
// every trial after it ran; say so before anything runs.
void check_objective_exists(const Spec& spec, const recipe::Recipe& base, const fs::path& recipe_file) {
  if (spec.objective.rfind("val_", 0) != 0 || base.data.validation > 0) return;
  for (const auto& d : spec.params)
    if (d.key == "dataset.validation") return;
  throw RecipeError(fmt::format("{}: objective {} needs a validation split, and dataset.validation is 0: set one "
                                "(--set dataset.validation=5000) or choose another number (--objective test_accuracy)",
                                recipe_file.string(), spec.objective));
}

class Driver {
 public:
  Driver(Folder folder, Spec spec, std::unique_ptr<Strategy> strategy, std::unique_ptr<Executor> executor,
         std::size_t target)
      : folder_(std::move(folder)), spec_(std::move(spec)), strategy_(std::move(strategy)),
        executor_(std::move(executor)), target_(target) {}

  int run() {
    try {
      return drive_trials();
    } catch (...) {
      executor_->stop();  // no job or worker outlives a failed driver
      throw;
    }
  }

  /// Trials given up by the executor (stuck in Slurm's queue): the sweep exits 1.
  std::size_t abandoned() const { return abandoned_; }

 private:
  int drive_trials() {
    for (auto& trial : folder_.read_trials(spec_)) {
      Row row{trial, folder_.outcome(trial, spec_)};
      if (row.outcome.state == Outcome::State::Running) watched_.push_back(trial.id);  // a worker left by an earlier driver
      else if (!row.outcome.finished()) queue_.push_back(trial.id);
      rows_.push_back(std::move(row));
    }
    const std::size_t done = std::count_if(rows_.begin(), rows_.end(), [](const Row& r) { return r.outcome.finished(); });
    if (!rows_.empty())
      fmt::print(stderr, "hebbkit: continuing the sweep: {} trial(s) finished, {} to run again{}\n", done, queue_.size(),
                 watched_.empty() ? "" : fmt::format(", {} still running", watched_.size()));
    publish(run::RunStatus::Running);

    bool exhausted = false;
    while (true) {
      if (run::interrupt_requested()) return interrupted();
      // Fill the free slots: trials to run again first, then new ones.
      std::vector<std::size_t> batch;
      while (executor_->in_flight() + batch.size() + watched_.size() < executor_->capacity()) {
        if (!queue_.empty()) {
          batch.push_back(queue_.front());
          queue_.erase(queue_.begin());
          continue;
        }
        if (exhausted || rows_.size() >= target_) break;
        const auto point = strategy_->suggest(rows_.size(), observations());
        if (!point) {
          exhausted = true;
          break;
        }
        Trial trial{rows_.size(), *point, overrides(spec_.params, *point), ""};
        folder_.write_trial(trial, spec_);
        rows_.push_back({trial, Outcome{}});
        batch.push_back(trial.id);
      }
      if (!batch.empty()) {
        for (const auto id : batch) fmt::print(stderr, "hebbkit: trial {} started: {}\n", trial_name(id), fmt::join(row(id).trial.overrides, " "));
        executor_->launch(batch);
      }
      if (run::interrupt_requested()) return interrupted();  // also mid-launch: what was not submitted runs next time
      if (executor_->in_flight() == 0 && watched_.empty()) break;
      for (const auto& ended : executor_->wait(1.0)) {
        abandoned_ += ended.abandoned;
        finish(ended.id, ended.how);
      }
      for (auto it = watched_.begin(); it != watched_.end();) {
        const auto outcome = folder_.outcome(row(*it).trial, spec_);
        if (outcome.state == Outcome::State::Running) {
          ++it;
          continue;
        }
        if (outcome.finished()) finish(*it, "");
        else queue_.push_back(*it);
        it = watched_.erase(it);
      }
    }
    publish(run::RunStatus::Completed);
    fmt::print("\n{}", table(spec_, rows_, 20));
    if (const auto by_seed = seeds_table(spec_, over_seeds(folder_, spec_, rows_)); !by_seed.empty())
      fmt::print("\nover seeds (seeds.csv):\n{}", by_seed);
    std::string warning;
    const auto files = write_best_and_plot(folder_, spec_, rows_, warning);
    write_report(run::RunStatus::Completed);  // final, with best.yaml
    if (!warning.empty()) fmt::print(stderr, "hebbkit: warning: the sweep's plot: {}\n", warning);
    fmt::print(stderr, "hebbkit: sweep completed: {} ({} trials; results.csv{})\n", folder_.dir().string(), rows_.size(),
               files.empty() ? ", no trial completed" : ", best.yaml, objective.png");
    fmt::print(stderr, "hebbkit: report: {}\n", (folder_.dir() / "report.html").string());
    if (abandoned_ > 0) {
      fmt::print(stderr, "hebbkit: error: {} trial(s) given up: Slurm did not run them, or its queue could not be read "
                 "(results.csv says why)\n",
                 abandoned_);
      return 1;
    }
    return 0;
  }

  Row& row(std::size_t id) { return rows_.at(id); }

  // results.csv and summary.json, and report.html (live while trials run).
  void publish(run::RunStatus status) {
    write_results(folder_, spec_, rows_, status);
    write_report(status);
  }

  void write_report(run::RunStatus status) {
    try {
      report::write_page(folder_.dir() / "report.html", report::sweep_page(folder_, spec_, rows_, status));
    } catch (const std::exception& e) {
      if (!report_warned_) fmt::print(stderr, "hebbkit: warning: the sweep's report.html not written: {}\n", e.what());
      report_warned_ = true;
    }
  }

  std::vector<Observation> observations() const {
    std::vector<Observation> out;
    for (const auto& r : rows_)
      if (r.outcome.finished()) out.push_back({r.trial.point, r.outcome.value, r.outcome.state == Outcome::State::Pruned});
    return out;
  }

  void finish(std::size_t id, const std::string& how) {
    Row& r = row(id);
    r.outcome = folder_.outcome(r.trial, spec_);
    if (!r.outcome.finished()) {
      if (run::interrupt_requested()) return;  // stopped by us: continued next time
      // The process ended without a result (a crash, a bad point): recorded, and the sweep goes on.
      const std::string last = tail(folder_.log_file(id), 3);
      r.trial.failure = fmt::format("{}{}", how.empty() ? "the worker ended without a result" : how,
                                    last.empty() ? "" : "; its output ends: " + last);
      folder_.write_trial(r.trial, spec_);
      r.outcome = folder_.outcome(r.trial, spec_);
    }
    std::string what;
    if (r.outcome.state == Outcome::State::Completed) {
      const auto order = ranked(rows_, spec_);
      const bool best = order.front().trial.id == id;
      what = fmt::format("{} = {:.6g}{}", spec_.objective, r.outcome.value, best ? " (best so far)" : "");
    } else {
      what = r.outcome.error;
    }
    fmt::print(stderr, "hebbkit: trial {} {}: {}\n", trial_name(id), to_string(r.outcome.state), what);
    publish(run::RunStatus::Running);
  }

  int interrupted() {
    fmt::print(stderr, "hebbkit: stopping the sweep's trials (each keeps its checkpoint)...\n");
    executor_->stop();
    for (auto& r : rows_) r.outcome = folder_.outcome(r.trial, spec_);
    publish(run::RunStatus::Interrupted);
    fmt::print(stderr, "hebbkit: sweep interrupted: {} — run the same command again to continue it\n",
               folder_.dir().string());
    return 130;
  }

  Folder folder_;
  Spec spec_;
  std::unique_ptr<Strategy> strategy_;
  std::unique_ptr<Executor> executor_;
  std::size_t target_;
  std::vector<Row> rows_;
  std::vector<std::size_t> queue_, watched_;
  std::size_t abandoned_ = 0;
  bool report_warned_ = false;
};

// Creates the sweep folder, or checks that the one there holds this very sweep.
void open_folder(const Folder& folder, const Spec& spec, const std::string& base_text, const fs::path& recipe) {
  const fs::path dir = folder.dir();
  const std::string search = recipe::to_yaml(spec.search_yaml());
  if (fs::exists(dir / "sweep.yaml")) {
    if (read_text(dir / "sweep.yaml") != search)
      throw RecipeError(fmt::format("{} holds a different sweep (its sweep.yaml: parameters, strategy, seed, objective or "
                                    "pruning differ); give another --out, or delete the folder to start over",
                                    dir.string()));
    if (read_text(folder.base_recipe()) != base_text)
      throw RecipeError(fmt::format("{} holds a sweep of a different recipe (its base.yaml differs from {} with these "
                                    "--set values); give another --out, or delete the folder to start over",
                                    dir.string(), recipe.string()));
    std::string why;
    if (const auto manifest = run::read_manifest(dir, why);
        manifest && manifest->live_status(dir) == run::RunStatus::Running)
      throw std::runtime_error(fmt::format("{}: the sweep is being run by process {} on {}; stop it first", dir.string(),
                                           manifest->pid, manifest->host));
    return;
  }
  if (fs::is_directory(dir) && !fs::is_empty(dir))
    throw RecipeError(fmt::format("{}: exists and is not a sweep folder (no sweep.yaml); give another --out", dir.string()));
  run::claim_output_folder(dir, "sweep.yaml", "--out");  // a file, an unmakeable name: refused clearly
  fs::create_directories(dir / "trials");
  io::write_atomic(folder.base_recipe(), base_text);
  io::write_atomic(dir / "sweep.yaml", search);  // last: its presence marks a complete folder
}

}  // namespace

int drive(const fs::path& recipe_file, const std::vector<std::string>& overrides, const CommandLine& cli,
          const DriveOptions& options) {
  try {
    recipe::Document doc = recipe::load(recipe_file, overrides);
    const std::uint64_t seed = doc.root["seed"] && doc.root["seed"].IsScalar() ? doc.root["seed"].as<std::uint64_t>(0) : 0;
    const Spec spec = make_spec(doc, cli, seed);
    const std::string name = doc.root["name"] && doc.root["name"].IsScalar() ? doc.root["name"].Scalar() : recipe_file.stem().string();
    doc.root["name"] = name;  // base.yaml's own stem must not rename the trials
    const recipe::Recipe resolved = recipe::resolve(copy(doc), plugins::default_registry());
    check_objective_exists(spec, resolved, recipe_file);
    probe(doc, spec);
    auto strategy = make_strategy(spec.strategy, spec.params, spec.seed, spec.maximize, spec.trials);
    std::size_t target = spec.trials;
    if (spec.strategy == "grid") target = spec.trials ? std::min(spec.trials, strategy->size()) : strategy->size();

    const Folder folder(fs::absolute(options.out.empty() ? fs::path("runs") / (io::file_safe(name) + "-sweep") : options.out)
                            .lexically_normal());
    open_folder(folder, spec, recipe::to_yaml(doc.root), recipe_file);
    // One driver per sweep folder; a second is refused naming the first.
    const run::RunLock lock(folder.dir(), fmt::format("{}", fmt::join(options.command_line, " ")));

    const int cores = system::available_cores();
    WorkerCommand worker{own_executable(), folder, options.threads > 0 ? options.threads : std::max(1, cores / spec.jobs),
                         options.tasks};
    std::unique_ptr<Executor> executor;
    if (options.executor == "slurm") {
      SlurmOptions slurm;
      slurm.max_concurrent = spec.jobs;
      slurm.sbatch_args = options.sbatch_args;
      slurm.poll_seconds = options.poll_seconds;
      slurm.capacity = strategy->adaptive() ? static_cast<std::size_t>(spec.jobs) : 0;
      slurm.command_timeout = options.slurm_timeout;
      slurm.stuck_seconds = options.slurm_stuck;
      executor = make_slurm_executor(worker, slurm);
    } else {
      if (spec.jobs * worker.threads > cores)
        fmt::print(stderr, "hebbkit: warning: {} job(s) x {} thread(s) exceed the {} core(s): trials will slow each other\n",
                   spec.jobs, worker.threads, cores);
      executor = make_local_executor(worker, spec.jobs);
    }

    run::RunManifest manifest;
    manifest.kind = run::FolderKind::Sweep;
    manifest.recipe = {fs::absolute(recipe_file).string()};
    manifest.command_line = options.command_line;
    manifest.executor = options.executor;
    manifest.jobs = spec.jobs;
    manifest.threads_per_trial = worker.threads;
    manifest.host = system::host_name();
    manifest.pid = ::getpid();
    manifest.started = run::timestamp_now();
    io::write_atomic(folder.dir() / "manifest.json", json(manifest).dump(2) + "\n");
    fmt::print(stderr, "hebbkit: sweep {} | {} over {} | {} trial(s) | {} {} job(s) x {} thread(s)\n",
               folder.dir().string(), spec.strategy,
               fmt::format("{}", fmt::join([&] {
                 std::vector<std::string> v;
                 for (const auto& d : spec.params) v.push_back(d.key + " " + d.describe());
                 return v;
               }(), ", ")),
               target, options.executor, spec.jobs, worker.threads);

    run::install_interrupt_handlers();
    Driver driver(folder, spec, std::move(strategy), std::move(executor), target);
    const auto close = [&](run::RunStatus status, const std::string& error) {
      manifest.status = status;
      manifest.ended = run::timestamp_now();
      if (!error.empty()) manifest.error = error;
      io::write_atomic(folder.dir() / "manifest.json", json(manifest).dump(2) + "\n");
    };
    try {
      const int code = driver.run();
      close(code == 130 ? run::RunStatus::Interrupted : run::RunStatus::Completed,
            driver.abandoned() ? fmt::format("{} trial(s) given up: Slurm did not run them, or its queue could not be read",
                                                driver.abandoned()) : "");
      return code;
    } catch (const std::exception& e) {
      close(run::RunStatus::Failed, e.what());  // finished trials stay; the same command continues
      throw;
    }
  } catch (const RecipeError& e) {
    fmt::print(stderr, "hebbkit: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hebbkit: error: sweep: {}\n", e.what());
    return 1;
  }
}

TrialRun prepare_trial(const fs::path& dir, std::size_t id) {
  if (!fs::exists(dir / "sweep.yaml"))
    throw RecipeError(fmt::format("{}: not a sweep folder (sweep.yaml missing)", dir.string()));
  const Spec spec = spec_from_yaml(YAML::LoadFile((dir / "sweep.yaml").string()));
  const Folder folder(dir);
  if (!fs::exists(folder.trial_file(id)))
    throw RecipeError(fmt::format("{}: the sweep has no trial {}", dir.string(), trial_name(id)));
  const Trial trial = folder.read_trial(id, spec);
  TrialRun run{recipe::load(folder.base_recipe(), trial.overrides), folder.trial_dir(id), {}};
  if (spec.prune.enabled()) {
    auto pruner = std::make_shared<MedianPruner>(folder, spec, id);
    run.watch = [pruner](const run::MetricPoint& p) { return pruner->check(p); };
  }
  return run;
}

pipeline::RunResult run_trial(const fs::path& sweep_dir, std::size_t id, pipeline::RunOptions options) {
  auto trial = prepare_trial(sweep_dir, id);
  options.out = trial.out;
  options.watch = std::move(trial.watch);
  return pipeline::run_or_continue(std::move(trial.doc), std::move(options));
}

}  // namespace hebbkit::sweep
