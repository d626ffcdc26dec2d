// plot: training curves per component, a look at the data, and each rule's own figures.
#include <map>
#include <set>

#include <torch/types.h>

#include "hebbkit/io.hpp"
#include "io/plot.hpp"
#include "recipe/recipe.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {
namespace fs = std::filesystem;

// Losses and distances to a fixed point span decades: metrics whose name contains "loss"
// or "convergence" get a log axis.
bool wants_log_scale(const std::string& metric) {
  return metric.find("loss") != std::string::npos || metric.find("convergence") != std::string::npos;
}


std::set<fs::path> files_in(const fs::path& folder) {
  std::set<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) out.insert(entry.path());
  return out;
}

class Plot final : public Stage {
 public:
  void run(StageEnv& env) override {
    auto& ctx = env.ctx;
    // Training curves: one figure per trained component, one panel per metric.
    std::map<std::string, std::map<std::string, io::Series>> curves;
    for (const auto& point : ctx.history()) {
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
      const fs::path file = env.store.artifacts() / fmt::format("curves_{}.png", io::file_safe(scope));
      io::plot_panels(file, panels);
      env.artifact(file);
    }
    // A look at the data as the model sees it before preprocessing.
    const auto& train = env.data.train;
    const auto samples = train.images.slice(0, 0, std::min<std::int64_t>(64, train.size()));
    const fs::path samples_file = env.store.artifacts() / "samples.png";
    io::save_png(samples_file, io::tile_images(samples.to(torch::kCPU), 16));
    env.artifact(samples_file);

    // Rules write their own figures; whatever appears in artifacts/ is recorded.
    const auto before = files_in(env.store.artifacts());
    for (std::size_t i = 0; i < env.model.layer_count(); ++i) {
      ctx.set_scope(fmt::format("layers.{}", i));
      env.model.layer(i).figures(ctx, env.data.image_shape);
    }
    ctx.set_scope("");
    for (const auto& file : files_in(env.store.artifacts()))
      if (!before.count(file)) env.artifact(file);
  }
};

}  // namespace

StageType plot_stage() {
  StageType t;
  t.name = "plot";
  t.summary = "training curves per component (curves_<scope>.png), samples.png and each rule's figures";
  t.make = [](const recipe::StageUse&) { return std::make_unique<Plot>(); };
  return t;
}

}  // namespace hebbkit::stages
