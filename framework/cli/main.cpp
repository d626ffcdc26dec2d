// hebbkit: runs experiment recipes composed of plugins. `hebbkit --help` lists commands.
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/slurm_tasks.hpp"
#include "hebbkit/process.hpp"
#include "hebbkit/version.hpp"
#include "recipe/schema_check.hpp"
#include "sweep/folder.hpp"
#include "sweep/sweep.hpp"
#include "system/system_info.hpp"

namespace {

// More threads than a few per core only thrash (and 100000 once ran 11 minutes).
std::string check_threads(const std::string& text) {
  const int cores = hebbkit::system::available_cores();
  const int cap = 4 * cores;
  std::size_t used = 0;
  long value = -1;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty())
    return fmt::format("expected a whole number of threads, got '{}'", text);
  if (value < 0 || value > cap)
    return fmt::format("{} threads: expected 0..{} (0: every core; at most 4 per core, {} cores available)", text, cap,
                       cores);
  return "";
}

}  // namespace

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  hebbkit::tune_process(argv);
  using namespace hebbkit;
  CLI::App app{"hebbkit — experiments with local learning rules (Krotov-Hopfield, Forward-Forward)"};
  app.set_version_flag("--version", std::string("hebbkit ") + version_string());
  app.require_subcommand(1);

  std::string recipe, resume, run_dir, stages_text;
  std::vector<std::string> overrides;
  pipeline::RunOptions options;
  std::string out;
  std::string progress = "auto";

  const auto add_run_options = [&](CLI::App* command) {
    command->add_option("--out", out, "run folder (default: runs/<time>-<recipe name>)");
    command->add_option("--threads", options.threads, "CPU threads (default: every available core)")
        ->check(CLI::Validator(check_threads, "N"));
    command->add_option("--device", options.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
    command->add_option("--progress", progress, "bar, lines or auto (bar on a terminal)")
        ->check(CLI::IsMember({"bar", "lines", "auto"}));
  };

  auto* run = app.add_subcommand("run", "run a recipe into a run folder, or resume an unfinished run");
  auto* recipe_option = run->add_option("recipe", recipe, "recipe YAML file");
  auto* resume_option = run->add_option("--resume", resume, "continue the unfinished run in this folder from its checkpoint");
  recipe_option->excludes(resume_option);
  run->add_option("--set", overrides, "override a value: KEY.PATH=YAML_VALUE, e.g. layers.0.rule.p=3");
  add_run_options(run);
  run->add_option("--nproc", options.processes,
                  "train data-parallel in N processes on this machine (threads default to cores / N); the same "
                  "numbers whatever N")
      ->check(CLI::Range(1, 256));

  auto* evaluate = app.add_subcommand(
      "evaluate", "reopen a finished run's model and run more stages on it into a new run folder");
  evaluate->add_option("run", run_dir, "a finished run folder")->required();
  evaluate->add_option("--stages", stages_text,
                       "stages to run: names separated by commas (evaluate,plot) or a YAML list "
                       "('[evaluate, {attack: {name: ...}}]'); default: evaluate");
  evaluate->add_option("--set", overrides, "override a value of the run's recipe, e.g. stages.0.save_logits=true");
  add_run_options(evaluate);

  auto* validate = app.add_subcommand("validate", "check a recipe and its plugins' parameters without running");
  validate->add_option("recipe", recipe, "recipe YAML file")->required();
  validate->add_option("--set", overrides, "override a value: KEY.PATH=YAML_VALUE");

  auto* plugins = app.add_subcommand("plugins", "list the plugins found: kind, name, summary, file");

  std::string name;
  auto* describe = app.add_subcommand("describe", "print a plugin's or a stage's parameters with type, default and meaning");
  describe->add_option("name", name, "plugin or stage name")->required();

  std::vector<std::string> compare_dirs;
  std::string compare_out;
  auto* compare = app.add_subcommand("compare", "runs side by side: shared training and attack charts, a summary table");
  compare->add_option("runs", compare_dirs, "run folders (two or more)")->required();
  compare->add_option("--out", compare_out, "folder for the charts and tables (default: runs/<time>-compare)");

  std::vector<std::string> report_paths;
  std::string report_out;
  auto* report = app.add_subcommand("report", "one self-contained HTML page for a run, several runs or a sweep");
  report->add_option("paths", report_paths, "a run folder, a sweep folder, or several run folders to compare")->required();
  report->add_option("--out", report_out,
                     "the page to write (default: report.html in the run or sweep folder; a comparison in "
                     "runs/<time>-compare/)");

  sweep::CommandLine sweep_cli;
  sweep::DriveOptions sweep_options;
  std::string strategy, objective, mode, prune, prune_metric;
  std::size_t trials = 0;
  int jobs = 0;
  auto* sweep = app.add_subcommand(
      "sweep", "run a recipe over a search space (grid, random, TPE) locally or as Slurm job arrays; run again to continue");
  sweep->add_option("recipe", recipe, "recipe YAML file (its `sweep:` block, if any, is the starting point)")->required();
  sweep->add_option("--param", sweep_cli.params,
                    "a swept key: KEY=a,b,c (choices) or KEY=lo:hi[:log] (a range; integers if both ends are), "
                    "e.g. layers.0.rule.p=2,3,4 layers.0.rule.delta=0.1:0.5");
  sweep->add_option("--strategy", strategy, "grid, random or tpe (default: grid when every parameter is discrete)");
  sweep->add_option("--trials", trials, "number of trials (random, tpe; default 20); caps a grid")->check(CLI::PositiveNumber);
  sweep->add_option("--objective", objective, "a number in each trial's summary.json (default val_accuracy)");
  sweep->add_option("--mode", mode, "max or min (default max)");
  sweep->add_option("--prune", prune, "none or median: stop trials that trail the median of completed ones");
  sweep->add_option("--prune-metric", prune_metric, "SCOPE.NAME of a per-epoch metric (default head.val_accuracy)");
  sweep->add_option("--jobs", jobs, "trials at once: local processes, or Slurm's concurrency cap (default 1)")
      ->check(CLI::PositiveNumber);
  sweep->add_option("--executor", sweep_options.executor, "local or slurm")->check(CLI::IsMember({"local", "slurm"}));
  sweep->add_option("--sbatch", sweep_options.sbatch_args, "an sbatch option for every job array, e.g. --sbatch=--partition=short");
  sweep->add_option("--poll", sweep_options.poll_seconds, "seconds between Slurm queue checks (default 5)")
      ->check(CLI::Range(0.05, 3600.0));
  sweep->add_option("--slurm-timeout", sweep_options.slurm_timeout,
                    "seconds one sbatch, squeue or scancel may take before it is killed (default 60)")
      ->check(CLI::Range(0.1, 86400.0));
  sweep->add_option("--slurm-stuck", sweep_options.slurm_stuck,
                    "seconds a trial may wait in Slurm's queue without running (or its queue be unreadable) before it "
                    "is cancelled and failed; the array's own cap does not count (default 3600, 0: never)")
      ->check(CLI::NonNegativeNumber);
  sweep->add_option("--tasks", sweep_options.tasks,
                    "--executor slurm: Slurm tasks per trial, which train it data-parallel (default 1)")
      ->check(CLI::Range(1, 4096));
  sweep->add_option("--threads", sweep_options.threads, "threads per trial (default: the cores split between the jobs)")
      ->check(CLI::Validator(check_threads, "N"));
  sweep->add_option("--set", overrides, "override a value of the recipe for every trial");
  sweep->add_option("--out", sweep_options.out, "sweep folder (default runs/<recipe name>-sweep); the same folder continues");

  std::size_t trial_id = 0;
  auto* sweep_trial = app.add_subcommand("sweep-trial", "run one trial of a sweep (what sweep workers and Slurm tasks run)");
  sweep_trial->add_option("sweep", run_dir, "the sweep folder")->required();
  sweep_trial->add_option("trial", trial_id, "the trial's number")->required();
  sweep_trial->add_option("--threads", options.threads, "CPU threads")->check(CLI::Validator(check_threads, "N"));
  sweep_trial->add_option("--progress", progress, "bar, lines or auto")->check(CLI::IsMember({"bar", "lines", "auto"}));

  pipeline::RankOptions rank_options;
  auto* run_rank = app.add_subcommand("run-rank", "one process of a data-parallel run (what `run --nproc N` starts)");
  run_rank->add_option("run", rank_options.run_dir, "the run folder")->required();
  run_rank->add_option("rank", rank_options.rank, "this process's rank, 1..N-1")->required()->check(CLI::Range(1, 255));
  run_rank->add_option("--nproc", rank_options.processes, "processes in the run")->required()->check(CLI::Range(2, 256));
  run_rank->add_option("--port", rank_options.rendezvous.port, "rank 0's rendezvous port on this machine")->required();
  run_rank->add_option("--threads", rank_options.threads, "CPU threads")->check(CLI::Range(1, 4096));
  run_rank->add_option("--device", rank_options.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  run_rank->add_flag("--resume", rank_options.resume, "continue from the run's model/");

  std::string runs_folder = "runs";
  auto* runs = app.add_subcommand("runs", "list runs with status and key metrics");
  runs->add_option("folder", runs_folder, "folder holding run folders (default: runs)");

  // CLI11 would only say "a subcommand is required" for a mistyped command.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> commands;
    const std::function<bool(CLI::App*)> every;  // empty: no filter
    for (const auto* sub : app.get_subcommands(every)) commands.push_back(sub->get_name());
    if (std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
      fmt::print(stderr, "hebbkit: error: unknown command '{}'{}; commands: {} (hebbkit --help)\n", argv[1],
                 recipe::suggestion(argv[1], commands), fmt::join(commands, ", "));
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
    if (*run && recipe.empty() && resume.empty())
      throw CLI::RequiredError("run: a recipe file, or --resume RUN_DIR");
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  options.out = out;
  options.progress = progress == "bar" ? run::ProgressStyle::Bar
                     : progress == "lines" ? run::ProgressStyle::Lines
                     : (::isatty(STDERR_FILENO) ? run::ProgressStyle::Bar : run::ProgressStyle::Lines);
  options.command_line.assign(argv, argv + argc);
  // Under srun every task runs the same command: task 0 is the run, the others its ranks.
  if (*run || *sweep_trial) {
    cli::SlurmStart start;
    if (*run) start = {resume.empty() ? fs::path(out) : fs::path(resume), recipe, overrides, !resume.empty(), false};
    else start = {sweep::Folder(run_dir).trial_dir(trial_id), {}, {}, false, /*continue_if_saved=*/true};
    if (const auto code = cli::as_slurm_task(start, !out.empty() || !resume.empty() || *sweep_trial, options)) return *code;
  }
  if (*run && !resume.empty()) return cli::resume_run(resume, overrides, options);
  if (*run) return cli::run_recipe(recipe, overrides, options);
  if (*evaluate) return cli::evaluate_run(run_dir, stages_text, overrides, options);
  if (*validate) return cli::validate_recipe(recipe, overrides);
  if (*plugins) return cli::list_plugins();
  if (*describe) return cli::describe(name);
  if (*runs) return cli::list_runs(runs_folder);
  if (*sweep_trial) return cli::sweep_trial(run_dir, trial_id, options);
  if (*run_rank) {
    rank_options.rendezvous.local_rank = rank_options.rank;  // all on this machine: rank k takes GPU k
    return cli::run_rank(rank_options);
  }
  if (*sweep) {
    if (!strategy.empty()) sweep_cli.strategy = strategy;
    if (!objective.empty()) sweep_cli.objective = objective;
    if (!mode.empty()) sweep_cli.mode = mode;
    if (!prune.empty()) sweep_cli.prune = prune;
    if (!prune_metric.empty()) sweep_cli.prune_metric = prune_metric;
    if (trials > 0) sweep_cli.trials = trials;
    if (jobs > 0) sweep_cli.jobs = jobs;
    sweep_options.command_line.assign(argv, argv + argc);
    return sweep::drive(recipe, overrides, sweep_cli, sweep_options);
  }
  if (*compare) return cli::compare_runs({compare_dirs.begin(), compare_dirs.end()}, compare_out);
  if (*report) return cli::write_report({report_paths.begin(), report_paths.end()}, report_out);
  return 2;
}
