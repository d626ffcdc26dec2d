#include "pipeline/pipeline.hpp"

#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "hebbkit/context.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "hebbkit/training.hpp"
#include "hebbkit/version.hpp"
#include "io/plot.hpp"
#include "pipeline/data_prep.hpp"
#include "pipeline/stack.hpp"
#include "run/host_context.hpp"
#include "run/run_store.hpp"
#include "system/system_info.hpp"

namespace hebbkit::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json plugin_entry(const recipe::PluginUse& use) {
  return {{"path", use.path},
          {"name", use.plugin->manifest->name},
          {"kind", to_string(use.plugin->manifest->kind)},
          {"file", fs::absolute(use.plugin->file).string()},
          {"sha256", system::sha256_file(use.plugin->file)}};
}

// fn applied to x in batches without building a graph; the result is detached.
template <class Fn>
torch::Tensor batched(Fn&& fn, const torch::Tensor& x, std::int64_t batch) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < x.size(0); start += batch)
    parts.push_back(fn(x.slice(0, start, std::min(x.size(0), start + batch))));
  return torch::cat(parts);
}

// Losses and distances to a fixed point span decades; plot them on a log axis.
bool wants_log_scale(const std::string& metric) {
  return metric.find("loss") != std::string::npos || metric.find("convergence") != std::string::npos;
}

std::string file_safe(std::string text) {
  for (char& c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return text;
}

class Run {
 public:
  Run(recipe::Recipe& recipe, run::RunStore& store, run::HostContext& ctx, json& summary)
      : recipe_(recipe), store_(store), ctx_(ctx), summary_(summary),
        preprocessor_(recipe.data.preprocess) {}

  void load_data() {
    const auto started = std::chrono::steady_clock::now();
    ctx_.set_stage("data");
    const fs::path root = resolve_data_root(recipe_.data);
    ctx_.info("loading {} from {}", recipe_.dataset.plugin->manifest->name, root.string());
    DatasetContent content = recipe_.dataset_instance->load(root, ctx_);
    data_ = prepare_data(std::move(content), recipe_.data, recipe_.seed, ctx_.device());
    preprocessor_.fit(data_.train.images);
    ctx_.info("train {} / validation {} / test {} images of shape {}, {} classes", data_.train.size(),
              data_.val.size(), data_.test.size(), fmt::join(data_.image_shape, "x"), data_.num_classes());
    summary_["data"] = {{"train", data_.train.size()}, {"validation", data_.val.size()},
                        {"test", data_.test.size()}, {"classes", data_.classes}};
    seconds("data", started);
  }

  void train() {
    const auto started = std::chrono::steady_clock::now();
    ctx_.set_stage("train");
    const std::int64_t batch = recipe_.data.eval_batch;
    torch::Tensor features = batched([&](const torch::Tensor& x) { return preprocessor_.apply(x); },
                                     data_.train.images, batch);
    torch::Tensor val_features;
    if (data_.val.size() > 0)
      val_features = batched([&](const torch::Tensor& x) { return preprocessor_.apply(x); }, data_.val.images, batch);

    for (std::size_t i = 0; i < recipe_.layer_instances.size(); ++i) {
      Rule& rule = *recipe_.layer_instances[i];
      ctx_.set_scope(fmt::format("layers.{}", i));
      ctx_.info("training with rule '{}' on inputs {}", recipe_.layers[i].plugin->manifest->name,
                fmt::join(features.sizes(), "x"));
      rule.fit(LayerFit{features, data_.train.labels, val_features, data_.val.labels, data_.num_classes(),
                        static_cast<std::int64_t>(i)},
               ctx_);
      // The next layer trains on this layer's outputs, computed once.
      features = batched([&](const torch::Tensor& x) { return rule.forward(x); }, features, batch);
      if (val_features.defined())
        val_features = batched([&](const torch::Tensor& x) { return rule.forward(x); }, val_features, batch);
    }

    ctx_.set_scope("head");
    ctx_.info("training head '{}' on features {}", recipe_.head.plugin->manifest->name,
              fmt::join(features.sizes(), "x"));
    recipe_.head_instance->fit(HeadFit{features, data_.train.labels, val_features, data_.val.labels,
                                       data_.train.images, data_.val.images, encoder_, data_.num_classes()},
                               ctx_);
    ctx_.set_scope("");
    seconds("train", started);
  }

  void evaluate() {
    const auto started = std::chrono::steady_clock::now();
    ctx_.set_stage("evaluate");
    for (auto [name, split] : {std::pair{"train", &data_.train}, {"val", &data_.val}, {"test", &data_.test}}) {
      if (split->size() == 0) continue;
      const auto logits = batched([&](const torch::Tensor& x) { return classifier_.logits(x); }, split->images,
                                  recipe_.data.eval_batch);
      const double acc = accuracy(logits, split->labels);
      ctx_.metric(fmt::format("{}_accuracy", name), acc);
      summary_[fmt::format("{}_accuracy", name)] = acc;
      ctx_.info("{} accuracy {:.2f}% ({} images)", name, 100 * acc, split->size());
    }
    if (summary_.contains("test_accuracy")) summary_["test_error"] = 1.0 - summary_["test_accuracy"].get<double>();
    seconds("evaluate", started);
  }

  void attack(recipe::Stage& stage) {
    const auto started = std::chrono::steady_clock::now();
    ctx_.set_stage("attack");
    const std::string name = stage.attack.plugin->manifest->name;
    ctx_.set_scope(stage.path);
    const std::int64_t n = data_.test.size(), batch = 100;
    auto progress = ctx_.progress("attack " + name, (n + batch - 1) / batch, "batch");
    std::int64_t correct = 0, clean_correct = 0;
    for (std::int64_t start = 0; start < n; start += batch) {
      const auto x = data_.test.images.slice(0, start, std::min(n, start + batch));
      const auto y = data_.test.labels.slice(0, start, std::min(n, start + batch));
      const auto adversarial = stage.attack_instance->perturb(classifier_, x, y, ctx_).detach();
      torch::NoGradGuard no_grad;
      correct += classifier_.logits(adversarial).argmax(1).eq(y).sum().item<std::int64_t>();
      clean_correct += classifier_.logits(x).argmax(1).eq(y).sum().item<std::int64_t>();
      progress->note("accuracy", double(correct) / std::min(n, start + batch));
      progress->advance();
    }
    progress->finish();
    const double acc = n ? double(correct) / n : 0.0, clean = n ? double(clean_correct) / n : 0.0;
    ctx_.metric("accuracy", acc);
    summary_["attacks"][stage.path] = {{"attack", name}, {"accuracy", acc}, {"clean_accuracy", clean}};
    ctx_.info("accuracy under attack {:.2f}% (clean {:.2f}%)", 100 * acc, 100 * clean);
    ctx_.set_scope("");
    seconds("attack", started);
  }

  void plot() {
    const auto started = std::chrono::steady_clock::now();
    ctx_.set_stage("plot");
    // Training curves: one figure per trained component, one panel per metric.
    std::map<std::string, std::map<std::string, io::Series>> curves;
    for (const auto& point : ctx_.history()) {
      if (point.stage != "train" || point.epoch < 0) continue;
      auto& series = curves[point.scope][point.name];
      series.title = point.name;
      series.x.push_back(static_cast<double>(point.epoch));
      series.y.push_back(point.value);
    }
    for (const auto& [scope, metrics] : curves) {
      std::vector<io::Panel> panels;
      for (const auto& [metric, series] : metrics)
        panels.push_back(io::Panel{fmt::format("{} {}", scope, metric), "epoch", metric, {series},
                                   wants_log_scale(metric)});
      const fs::path file = store_.artifacts() / fmt::format("curves_{}.png", file_safe(scope));
      io::plot_panels(file, panels);
      artifact(file);
    }
    // A look at the data as the model sees it before preprocessing.
    const auto samples = data_.train.images.slice(0, 0, std::min<std::int64_t>(64, data_.train.size()));
    const fs::path samples_file = store_.artifacts() / "samples.png";
    io::save_png(samples_file, io::tile_images(samples, 16));
    artifact(samples_file);

    for (std::size_t i = 0; i < recipe_.layer_instances.size(); ++i) {
      ctx_.set_scope(fmt::format("layers.{}", i));
      recipe_.layer_instances[i]->figures(ctx_, data_.image_shape);
    }
    ctx_.set_scope("");
    seconds("plot", started);
  }

  void save() {
    const auto started = std::chrono::steady_clock::now();
    ctx_.set_stage("save");
    for (std::size_t i = 0; i < recipe_.layer_instances.size(); ++i)
      for (const auto& [name, tensor] : recipe_.layer_instances[i]->state())
        save_tensor(fmt::format("layer{}_{}.npy", i, file_safe(name)), tensor);
    for (const auto& [name, tensor] : recipe_.head_instance->state())
      save_tensor(fmt::format("head_{}.npy", file_safe(name)), tensor);
    seconds("save", started);
  }

 private:
  void save_tensor(const std::string& file_name, const torch::Tensor& tensor) {
    const fs::path file = store_.artifacts() / file_name;
    io::save_npy(file, tensor);
    artifact(file);
    ctx_.info("saved {} {}", file_name, fmt::join(tensor.sizes(), "x"));
  }
  void artifact(const fs::path& file) { summary_["artifacts"].push_back(fs::relative(file, store_.dir()).string()); }
  void seconds(const std::string& stage, std::chrono::steady_clock::time_point started) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    json& entry = summary_["seconds"][stage];
    entry = (entry.is_number() ? entry.get<double>() : 0.0) + s;
  }

  recipe::Recipe& recipe_;
  run::RunStore& store_;
  run::HostContext& ctx_;
  json& summary_;
  Preprocessor preprocessor_;
  PreparedData data_;
  StackEncoder encoder_{preprocessor_, [&] {
                          std::vector<Rule*> layers;
                          for (auto& l : recipe_.layer_instances) layers.push_back(l.get());
                          return layers;
                        }()};
  StackClassifier classifier_{encoder_, *recipe_.head_instance};
};

}  // namespace

torch::Device select_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw RecipeError("--device cuda: this LibTorch has no usable CUDA device (CPU build or no GPU); use --device cpu");
    return torch::kCUDA;
  }
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  throw RecipeError(fmt::format("--device {}: expected cpu, cuda or auto", name));
}

RunResult execute(recipe::Recipe& recipe, const RunOptions& options) {
  const torch::Device device = select_device(options.device);
  const int threads = options.threads > 0 ? options.threads : system::available_cores();
  at::set_num_threads(threads);
  torch::manual_seed(recipe.seed);

  RunResult result;
  result.dir = options.out.empty() ? run::RunStore::new_run_dir("runs", file_safe(recipe.name)) : options.out;
  run::RunStore store(result.dir);
  store.write_text("recipe.resolved.yaml", recipe::to_yaml(recipe.doc->root));

  json plugins = json::array();
  plugins.push_back(plugin_entry(recipe.dataset));
  for (const auto& layer : recipe.layers) plugins.push_back(plugin_entry(layer));
  plugins.push_back(plugin_entry(recipe.head));
  for (const auto& stage : recipe.stages)
    if (stage.kind == recipe::StageKind::Attack) plugins.push_back(plugin_entry(stage.attack));
  std::vector<std::string> chain;
  for (const auto& f : recipe.doc->chain) chain.push_back(fs::absolute(f).string());

  json manifest = {
      {"hebbkit_version", version_string()},
      {"api_version", HEBBKIT_API_VERSION},
      {"git_commit", system::git_commit()},
      {"libtorch_version", system::libtorch_version()},
      {"blas", system::loaded_blas_libraries()},
      {"device", device.str()},
      {"threads", at::get_num_threads()},
      {"seed", recipe.seed},
      {"recipe", chain},
      {"overrides", recipe.doc->overrides},
      {"command_line", options.command_line},
      {"plugins", plugins},
      {"host", system::host_name()},
      {"started", run::timestamp_now()},
      {"ended", nullptr},
      {"status", "running"},
  };
  store.write_json("manifest.json", manifest);

  json summary = {{"recipe", recipe.name}, {"seed", recipe.seed}, {"status", "running"}};
  summary["artifacts"] = json::array();
  run::HostContext ctx(store, device, recipe.seed, options.progress);
  ctx.set_stage("setup");
  ctx.info("run folder {} | {} thread(s) | device {} | BLAS {}", result.dir.string(), at::get_num_threads(),
           device.str(), fmt::join(manifest["blas"].get<std::vector<std::string>>(), ", "));

  result.status = "completed";
  std::string error;
  try {
    Run run(recipe, store, ctx, summary);
    run.load_data();
    store.write_json("summary.json", summary);
    for (auto& stage : recipe.stages) {
      switch (stage.kind) {
        case recipe::StageKind::Train: run.train(); break;
        case recipe::StageKind::Evaluate: run.evaluate(); break;
        case recipe::StageKind::Attack: run.attack(stage); break;
        case recipe::StageKind::Plot: run.plot(); break;
        case recipe::StageKind::Save: run.save(); break;
      }
      summary["stages_done"].push_back(to_string(stage.kind));
      store.write_json("summary.json", summary);
    }
  } catch (const Interrupted&) {
    result.status = "interrupted";
    result.exit_code = 130;
    error = "interrupted by signal; results of the finished stages are kept";
  } catch (const RecipeError& e) {
    result.status = "failed";
    result.exit_code = 2;
    error = e.what();
  } catch (const std::exception& e) {
    result.status = "failed";
    result.exit_code = 1;
    error = e.what();
  }
  ctx.set_stage("end");
  ctx.set_scope("");
  if (!error.empty()) ctx.warn("{}: {}", result.status, error);
  summary["status"] = result.status;
  manifest["status"] = result.status;
  manifest["ended"] = run::timestamp_now();
  if (!error.empty()) manifest["error"] = error;
  store.write_json("summary.json", summary);
  store.write_json("manifest.json", manifest);
  return result;
}

}  // namespace hebbkit::pipeline
