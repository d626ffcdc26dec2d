#include "pipeline/pipeline.hpp"

#include <cmath>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/cuda.h>
#include <torch/types.h>

#include "hebbkit/blas.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "hebbkit/version.hpp"
#include "model/model_store.hpp"
#include "parallel/gloo_world.hpp"
#include "data/data_prep.hpp"
#include "run/host_context.hpp"
#include "pipeline/local_ranks.hpp"
#include "pipeline/run_life.hpp"
#include "run/run_store.hpp"
#include "stages/stage.hpp"
#include "system/system_info.hpp"
#include "system/torch_facts.hpp"

namespace hebbkit::pipeline {
namespace fs = std::filesystem;

namespace {

// Every stage but train works on the trained model; a model folder that lost its files
// (model.json deleted, a resume whose records outlived its model) must not reach it.
void require_trained(const std::string& stage, const recipe::Recipe& recipe, const model::TrainingProgress& progress,
                     const RunOptions& options, const fs::path& run_dir) {
  if (progress.head_trained && progress.layers_trained == recipe.layers.size()) return;
  const fs::path file = (options.reopen.empty() ? run_dir : options.reopen) / "model" / "model.json";
  throw DataError(fmt::format("stage {} needs the trained model, but {} {} ({} of {} layers trained, head {}); the "
                              "run's records say train finished: start the run again",
                              stage, file.string(), fs::exists(file) ? "is incomplete" : "is missing",
                              progress.layers_trained, recipe.layers.size(),
                              progress.head_trained ? "trained" : "not trained"));
}

// Where the stages keep what they do: the run's records on the lead process; on the other
// ranks of a data-parallel run, which train alongside it, a summary nobody reads.
struct Records {
  run::RunStore& store;
  run::RunSummary& summary;
  std::function<void()> checkpoint;  ///< summary.json written, on the lead
  fs::path run_dir;
  bool lead = true;
};

// Runs the data step and the stages (the other ranks: those that every rank runs, train
// and evaluate); what can go wrong inside is caught by the caller.
void run_stages(const recipe::Recipe& recipe, const RunOptions& options, Records records, run::HostContext& ctx) {
  auto& summary = records.summary;
  const fs::path& run_dir = records.run_dir;
  // A stage's time is kept even when it fails, stops or is pruned part-way.
  const auto timed = [&](const std::string& name, auto&& fn) {
    const auto started = std::chrono::steady_clock::now();
    const auto add = [&] {
      summary.seconds[name] += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    try {
      fn();
    } catch (...) {
      add();
      throw;
    }
    add();
  };

  PreparedData data;
  timed("data", [&] {
    ctx.set_stage("data");
    const fs::path root = resolve_data_root(recipe.data);
    if (!fs::is_directory(root))
      throw RecipeError(fmt::format("data root {}: no such folder (from {}); fetch the data with datasets/fetch {}, or "
                                    "point dataset.root or HEBBKIT_DATA at it",
                                    root.string(), data_root_origin(recipe.data), recipe.dataset.name()));
    ctx.info("loading {} from {}", recipe.dataset.name(), root.string());
    DatasetContent content;
    try {
      content = recipe.dataset.make<Dataset>()->load(root, ctx);
    } catch (const DataError& e) {
      throw RecipeError(e.what());  // missing or damaged data files: the user's to fix, as a recipe is (exit 2)
    }
    data = prepare_data(std::move(content), recipe.data, recipe.seed, ctx.device());
    ctx.info("train {} / validation {} / test {} images of shape {}, {} classes", data.train.size(), data.val.size(),
             data.test.size(), fmt::join(data.image_shape, "x"), data.num_classes());
    run::DataCounts counts{data.train.size(), data.val.size(), data.test.size(), data.classes,
                           fs::absolute(root).lexically_normal().string()};
    // A resume trains on from what the run saw: other data (another HEBBKIT_DATA, a
    // dataset replaced) would give weights that match neither.
    if (const auto& before = summary.data; options.resume && before && before->train > 0 &&
        (before->train != counts.train || before->validation != counts.validation || before->test != counts.test))
      throw RecipeError(fmt::format("the run read {} train / {} validation / {} test images{}; this resume reads {} / "
                                    "{} / {} from {} ({}): point it at the run's data to continue",
                                    before->train, before->validation, before->test,
                                    before->root.empty() ? "" : " from " + before->root, counts.train,
                                    counts.validation, counts.test, counts.root, data_root_origin(recipe.data)));
    summary.data = std::move(counts);
  });
  records.checkpoint();

  Model model = model::build(recipe);
  model::TrainingProgress progress;
  if (!options.reopen.empty()) {
    ctx.set_stage("setup");
    progress = model::load(model, recipe, options.reopen / "model", ctx.device(), /*restore_rng=*/false);
    if (!progress.head_trained || progress.layers_trained != recipe.layers.size())
      throw DataError(fmt::format("{}: its model is not fully trained ({} of {} layers, head {}); resume it with "
                                  "`hebbkit run --resume {}` first",
                                  options.reopen.string(), progress.layers_trained, recipe.layers.size(),
                                  progress.head_trained ? "trained" : "not trained", options.reopen.string()));
    ctx.info("reopened the model of {}", options.reopen.string());
    ctx.load_history(options.reopen / "metrics.jsonl");
  } else if (options.resume && fs::exists(run_dir / "model" / "model.json")) {
    ctx.set_stage("setup");
    progress = model::load(model, recipe, run_dir / "model", ctx.device(), /*restore_rng=*/true);
    ctx.info("resuming: {} of {} layer(s) trained, head {}", progress.layers_trained, recipe.layers.size(),
             progress.head_trained ? "trained" : "not trained");
  } else if (recipe.reuse) {
    ctx.set_stage("setup");
    const auto& reuse = *recipe.reuse;
    progress = model::load_layers(model, recipe, reuse.run / "model", reuse.layers, ctx.device(), reuse.same_seed);
    ctx.info("{} trained from {} (reuse); {}",
             reuse.layers == 1 ? std::string("layer 0 comes") : fmt::format("layers 0-{} come", reuse.layers - 1),
             reuse.run.string(),
             progress.generator_continued ? "the generator continues from that run's, so the numbers above are a "
                                            "full run's"
             : reuse.same_seed ? "that run saved no generator state after them, so the generator starts from "
                                 "the seed: numbers above differ from a full run's"
                               : "another seed: the generator starts from this recipe's");
    for (const auto& change : reuse.readouts) ctx.info("reads the top layer reused out differently: {}", change);
  }

  // A resumed run skips the stages it finished before it stopped; the other ranks of a
  // data-parallel run learn from rank 0 which, since only its records hold them.
  std::size_t done = summary.stages_done.size();
  if (Collective& world = ctx.collective(); world.size() > 1) {
    std::vector<torch::Tensor> count = {torch::full({1}, records.lead ? static_cast<std::int64_t>(done) : 0, torch::kInt64)};
    world.all_reduce_sum(count);
    done = static_cast<std::size_t>(count[0].item<std::int64_t>());
  }
  stages::StageEnv env{recipe, model, progress, data, ctx, records.store, summary};
  env.model_dir = run_dir / "model";
  env.lead = records.lead;
  for (std::size_t i = 0; i < recipe.stages.size(); ++i) {
    const auto& use = recipe.stages[i];
    if (!records.lead && !use.type->every_rank) continue;  // rank 0 attacks, plots and saves alone
    if (i < done) {
      ctx.info("stage {} ({}) finished before the resume; skipped", i, use.name());
      continue;
    }
    if (!use.type->trains) require_trained(use.name(), recipe, progress, options, run_dir);
    if (use.type->trains) env.held_features = {};  // the model they came from is about to change
    timed(use.name(), [&] {
      ctx.set_stage(use.name());
      use.type->make(use)->run(env);
      ctx.set_scope("");
    });
    summary.stages_done.push_back(use.name());
    records.checkpoint();
  }
}

}  // namespace

/// cpu / cuda / auto -> a device; "cuda" without CUDA is an error naming the build. The
/// processes of a data-parallel run on one machine take a GPU each, by `local_rank`.
static torch::Device select_device(const std::string& name, int local_rank = 0) {
  if (name == "cpu") return torch::kCPU;
  const auto gpu = [&] {
    const auto count = static_cast<int>(torch::cuda::device_count());
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
  };
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw RecipeError("--device cuda: this LibTorch has no usable CUDA device (CPU build or no GPU); use --device cpu");
    return gpu();
  }
  if (name == "auto") return torch::cuda::is_available() ? gpu() : torch::Device(torch::kCPU);
  throw RecipeError(fmt::format("--device {}: expected cpu, cuda or auto", name));
}

namespace {

// How a run ended, from what `body` threw.
struct Ending {
  run::RunStatus status = run::RunStatus::Completed;
  int exit_code = 0;
  std::string error;  ///< "" when completed
};
Ending ending_of(const std::function<void()>& body) {
  Ending e;
  try {
    body();
  } catch (const Interrupted&) {
    e = {run::RunStatus::Interrupted, 130, "interrupted by signal; results of the finished stages are kept"};
  } catch (const run::Pruned& p) {
    e = {run::RunStatus::Pruned, 0, p.what()};
  } catch (const RecipeError& r) {
    e = {run::RunStatus::Failed, 2, r.what()};
  } catch (const std::exception& x) {
    // LibTorch's errors carry a C++ backtrace after the message: the message is what helps.
    e = {run::RunStatus::Failed, 1, x.what()};
    if (const auto trace = e.error.find("\nException raised from"); trace != std::string::npos) e.error.resize(trace);
  }
  return e;
}

// Threads per process: the cores shared between a data-parallel run's processes.
int threads_per_process(const RunOptions& options) {
  if (options.threads > 0) return options.threads;
  return std::max(1, system::available_cores() / std::max(1, options.processes));
}

}  // namespace

RunResult execute(const recipe::Recipe& recipe, const RunOptions& options) {
  const torch::Device device = select_device(options.device, options.rendezvous.local_rank);
  const int threads = threads_per_process(options);
  at::set_num_threads(threads);
  torch::manual_seed(recipe.seed);

  RunResult result;
  result.dir = options.out.empty() ? run::RunStore::new_run_dir("runs", io::file_safe(recipe.name)) : options.out;
  RunLife life(result.dir, recipe, options, device.str(), at::get_num_threads());

  run::HostContext ctx(life.store(), device, recipe.seed, options.progress);
  if (options.resume) ctx.load_history(result.dir / "metrics.jsonl");
  // Every metric may freshen the live report.html (RunLife keeps it to every few seconds).
  ctx.set_watch([&life, watch = options.watch](const run::MetricPoint& point) -> std::optional<std::string> {
    life.refresh_report();
    return watch ? watch(point) : std::nullopt;
  });
  ctx.set_stage("setup");
  std::unique_ptr<LocalRanks> ranks;                    // --nproc: the processes this one started
  std::unique_ptr<parallel::GlooCollective> slurm_world;  // srun: Slurm's tasks
  Ending ending = ending_of([&] {
    // Inside: a log that cannot be written already fails the run.
    const auto& manifest = life.manifest();
    ctx.info("run folder {} | {} thread(s) | device {} | BLAS {}{}", result.dir.string(), at::get_num_threads(),
             device.str(), fmt::join(manifest.blas, ", "),
             manifest.blas_core.empty() ? "" : " | kernels " + manifest.blas_core);
    if (options.processes > 1) {
      const auto& meet = options.rendezvous;
      parallel::GlooCollective* world = nullptr;
      if (meet.slurm) {
        try {
          parallel::World joining{0, options.processes, meet.host, meet.port, meet.host};
          joining.cuda = device.is_cuda();
          slurm_world = parallel::join_gloo(joining);
        } catch (const DataError& e) {
          throw DataError(fmt::format("{} (another job on this node may hold port {}: set HEBBKIT_RENDEZVOUS_PORT "
                                      "to a free one for every task)",
                                      e.what(), meet.port));
        }
        world = slurm_world.get();
      } else {
        ranks = std::make_unique<LocalRanks>(result.dir, options, threads, device.is_cuda());
        world = &ranks->collective();
      }
      life.joined(world->backend(), world->hosts());
      ctx.info("data-parallel over {} processes {}, {} thread(s) each ({}); the others log into {}",
               options.processes, meet.slurm ? fmt::format("(Slurm's tasks, meeting at {}:{})", meet.host, meet.port)
                                             : std::string("on this machine"),
               threads, world->backend(), (result.dir / "ranks").string());
      world->agree(run_facts(recipe));
      ctx.set_collective(world);
    }
    run_stages(recipe, options, Records{life.store(), life.summary(), [&life] { life.checkpoint(); }, result.dir, true},
               ctx);
  });
  if (ranks) {
    // The others end after the last stage that every rank runs; one that failed is named (a killed
    // one is still being torn down when its connection drops: it gets a moment).
    const std::string fate = ranks->finish(ending.status == run::RunStatus::Completed ? 30 : 3);
    if (!fate.empty() && ending.status == run::RunStatus::Completed)
      ctx.warn("the run completed, but not every other process ended cleanly{}", fate);
    else if (!fate.empty() && ending.status == run::RunStatus::Failed)
      ending.error += fate;
  }
  ctx.set_collective(nullptr);
  ranks.reset();
  slurm_world.reset();
  result.status = ending.status;
  result.exit_code = ending.exit_code;
  const std::string& error = ending.error;
  ctx.set_stage("end");
  ctx.set_scope("");
  // The command line reports the error once; log.txt keeps it too (best effort: the
  // failure may be that log.txt cannot be written).
  if (!error.empty()) ctx.log_only(fmt::format("{}: {}", to_string(result.status), error));
  result.error = error;
  result.retry = options.reopen.empty()
                     ? fmt::format("hebbkit run --resume {}", result.dir.string())
                     : fmt::format("{} (an evaluate folder is not resumed; this makes a new one)",
                                   options.command_line.empty() ? "hebbkit evaluate " + options.reopen.string()
                                                                : fmt::format("{}", fmt::join(options.command_line, " ")));
  life.finish(result.status, error);
  return result;
}

std::vector<std::pair<std::string, std::string>> run_facts(const recipe::Recipe& recipe) {
  std::vector<std::pair<std::string, std::string>> facts = {
      {"hebbkit", fmt::format("{} ({})", version_string(), system::git_commit())},
      {"recipe", system::sha256_text(recipe::to_yaml(recipe::resolved_yaml(recipe)))}};
  const auto plugin = [&](const recipe::PluginUse& use) {
    facts.emplace_back(fmt::format("{} {}", use.path, use.name()), system::sha256_file(use.plugin->file));
  };
  plugin(recipe.dataset);
  for (const auto& layer : recipe.layers) plugin(layer);
  plugin(recipe.head);
  return facts;
}

int execute_rank(const std::function<recipe::Recipe()>& load_recipe, const RankOptions& options) {
  const torch::Device device = select_device(options.device, options.rendezvous.local_rank);
  at::set_num_threads(options.threads);
  const auto& meet = options.rendezvous;
  std::unique_ptr<parallel::GlooCollective> world;
  std::unique_ptr<run::RunStore> store;
  std::unique_ptr<run::HostContext> ctx;
  const Ending ending = ending_of([&] {
    parallel::World joining{options.rank, options.processes, meet.host, meet.port,
                            meet.slurm ? system::host_name() : ""};
    joining.cuda = device.is_cuda();
    world = parallel::join_gloo(joining);
    // Before agreeing: rank 0 saves nothing into model/ until every process has.
    const bool resume =
        options.resume || (options.continue_if_saved && fs::exists(options.run_dir / "model" / "model.json"));
    // Joined: rank 0 has made the run folder and written its recipe, so this rank's own
    // folder goes inside it now. A recipe this process cannot read is told to the others as
    // a difference, so that none waits for it.
    std::optional<recipe::Recipe> loaded;
    try {
      loaded = load_recipe();
    } catch (const std::exception& e) {
      world->agree({{"recipe", fmt::format("unreadable on rank {}: {}", options.rank, e.what())}});
      throw;
    }
    const recipe::Recipe& recipe = *loaded;
    world->agree(run_facts(recipe));
    store = std::make_unique<run::RunStore>(rank_folder(options.run_dir, options.rank), run::RunStore::Open::Rank,
                                            fmt::format("hebbkit run-rank {}", options.rank));
    torch::manual_seed(recipe.seed);
    ctx = std::make_unique<run::HostContext>(*store, device, recipe.seed, run::ProgressStyle::Lines);
    ctx->set_stage("setup");
    ctx->info("rank {} of {} for {} | {} thread(s) | device {}", options.rank, options.processes,
              options.run_dir.string(), at::get_num_threads(), device.str());
    ctx->set_collective(world.get());
    RunOptions run_options;
    run_options.resume = resume;
    run::RunSummary summary;
    run_stages(recipe, run_options, Records{*store, summary, [] {}, options.run_dir, false}, *ctx);
  });
  if (ctx) {
    ctx->set_stage("end");
    ctx->set_scope("");
    ctx->set_collective(nullptr);
    if (!ending.error.empty()) ctx->log_only(fmt::format("{}: {}", to_string(ending.status), ending.error));
  }
  if (!ending.error.empty()) std::fprintf(stderr, "hebbkit: rank %d: %s\n", options.rank, ending.error.c_str());
  return ending.exit_code;
}

}  // namespace hebbkit::pipeline
