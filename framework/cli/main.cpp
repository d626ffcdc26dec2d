// hebbkit: runs experiment recipes composed of plugins. `hebbkit --help` lists commands.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "hebbkit/version.hpp"

int main(int argc, char** argv) {
  using namespace hebbkit;
  CLI::App app{"hebbkit — experiments with local learning rules (Krotov-Hopfield, Forward-Forward, backprop)"};
  app.set_version_flag("--version", std::string("hebbkit ") + version_string());
  app.require_subcommand(1);

  std::string recipe;
  std::vector<std::string> overrides;
  pipeline::RunOptions options;
  std::string out;
  std::string progress = "auto";

  auto* run = app.add_subcommand("run", "run a recipe into a run folder");
  run->add_option("recipe", recipe, "recipe YAML file")->required();
  run->add_option("--set", overrides, "override a value: KEY.PATH=YAML_VALUE, e.g. layers.0.rule.p=3");
  run->add_option("--out", out, "run folder (default: runs/<time>-<recipe name>)");
  run->add_option("--threads", options.threads, "CPU threads (default: every available core)")->check(CLI::NonNegativeNumber);
  run->add_option("--device", options.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  run->add_option("--progress", progress, "bar, lines or auto (bar on a terminal)")
      ->check(CLI::IsMember({"bar", "lines", "auto"}));

  auto* validate = app.add_subcommand("validate", "check a recipe and its plugins' parameters without running");
  validate->add_option("recipe", recipe, "recipe YAML file")->required();
  validate->add_option("--set", overrides, "override a value: KEY.PATH=YAML_VALUE");

  auto* plugins = app.add_subcommand("plugins", "list the plugins found: kind, name, summary, file");

  std::string name;
  auto* describe = app.add_subcommand("describe", "print a plugin's parameters with type, default and meaning");
  describe->add_option("name", name, "plugin name")->required();

  std::string runs_folder = "runs";
  auto* runs = app.add_subcommand("runs", "list runs with status and key metrics");
  runs->add_option("folder", runs_folder, "folder holding run folders (default: runs)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*run) {
    options.out = out;
    options.progress = progress == "bar" ? run::ProgressStyle::Bar
                       : progress == "lines" ? run::ProgressStyle::Lines
                       : (::isatty(STDERR_FILENO) ? run::ProgressStyle::Bar : run::ProgressStyle::Lines);
    options.command_line.assign(argv, argv + argc);
    return cli::run_recipe(recipe, overrides, options);
  }
  if (*validate) return cli::validate_recipe(recipe, overrides);
  if (*plugins) return cli::list_plugins();
  if (*describe) return cli::describe_plugin(name);
  if (*runs) return cli::list_runs(runs_folder);
  return 2;
}
