// head_bench [--threads N] [--rows R] [--features F] [--rounds K] [--only TEXT]
//
// Times what happens after the Hebbian layers are trained, against the GEMMs it cannot avoid:
//  - one epoch of a head on frozen features (the softmax and krotov head plugins, batch 100,
//    R x F features, 10 classes), through the plugin as a recipe builds it; its floor is the
//    forward GEMM (B x F times F x 10) and the weight-gradient GEMM (10 x B times B x F) of every
//    minibatch, on contiguous rows;
//  - feature extraction by a frozen Krotov-Hopfield layer (F units x 784 inputs, the host's
//    batch of 1000), through the krotov rule plugin; its floor is the GEMM of every batch;
//  - Forward-Forward's label scoring by the ff_goodness head on forward_forward stacks of
//    [784, 500, 500] and [784, 4 x 2000], against scoring label by label.
// Prints ms per epoch (or pass), the floor and the ratio (target <= 1.3). --only runs the cases
// whose name contains TEXT (e.g. under a profiler). A shared machine drifts
// by tens of percent within a minute, so plugin and floor alternate and the figures are medians.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/types.h>
#include <yaml-cpp/yaml.h>

#include "hebbkit/process.hpp"
#include "hebbkit/goodness.hpp"
#include "hebbkit/hebbkit.hpp"
#include "recipe/recipe.hpp"
#include "bench.hpp"

namespace {

using hebbkit::bench::median;
using hebbkit::bench::ms_of;

// A run context that keeps nothing: no log, no metrics, no progress display.
class QuietContext final : public hebbkit::RunContext {
 public:
  torch::Device device() const override { return torch::kCPU; }
  std::uint64_t seed() const override { return 0; }
  const std::filesystem::path& artifacts() const override { return folder_; }
  void info(const std::string&) override {}
  void warn(const std::string&) override {}
  void metric(const std::string&, double, std::int64_t, std::int64_t) override {}
  std::unique_ptr<hebbkit::Progress> progress(const std::string&, std::int64_t, const std::string&) override {
    return std::make_unique<Silent>();
  }
  void check_interrupted() const override {}

 private:
  struct Silent final : hebbkit::Progress {
    void advance(std::int64_t) override {}
    void note(const std::string&, double) override {}
    void finish() override {}
  };
  std::filesystem::path folder_ = std::filesystem::temp_directory_path();
};

// Feature heads never look at the stack; the host hands them one all the same.
class NoLayers final : public hebbkit::Encoder {
 public:
  torch::Tensor prepare(const torch::Tensor& images) override { return images; }
  torch::Tensor forward_prepared(const torch::Tensor& x) override { return x; }
  std::size_t layer_count() const override { return 0; }
  hebbkit::Rule& layer(std::size_t) override { throw std::out_of_range("head_bench: no layers"); }
};

// The layer and head as a recipe names them, resolved against the build's plugins.
hebbkit::recipe::Recipe recipe_with(const std::string& layer, const std::string& head) {
  hebbkit::recipe::Document doc;
  doc.file = "head_bench.yaml";
  doc.root = YAML::Load(fmt::format("{{schema: 1, name: head_bench, dataset: {{name: mnist}}, layers: [{{rule: {}}}], "
                                    "head: {}, stages: [train]}}",
                                    layer, head));
  return hebbkit::recipe::resolve(doc, hebbkit::plugins::default_registry());
}

struct Row {
  std::string name;
  std::vector<double> plugin_ms, floor_ms;
};

void print(const Row& row) {
  std::vector<double> ratio;
  for (std::size_t i = 0; i < row.plugin_ms.size(); ++i) ratio.push_back(row.plugin_ms[i] / row.floor_ms[i]);
  fmt::print("{:<44} {:>10.1f} {:>10.1f} {:>7.3f} {:>7.3f}-{:<7.3f}\n", row.name, median(row.plugin_ms),
             median(row.floor_ms), median(ratio), *std::min_element(ratio.begin(), ratio.end()),
             *std::max_element(ratio.begin(), ratio.end()));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  hebbkit::tune_process(argv);
  int threads = 2, rounds = 5;
  std::string only;
  std::int64_t rows = 60000, features = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rows")) rows = std::max(100, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--features")) features = std::max(10, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  at::set_num_threads(threads);
  torch::manual_seed(0);
  constexpr std::int64_t classes = 10, batch = 100, inputs = 784, extraction_batch = 1000;
  fmt::print("heads and feature extraction vs their GEMM floor, {} thread(s), {} rows x {} features, {} rounds, "
             "medians (ratio range)\n",
             at::get_num_threads(), rows, features, rounds);
  fmt::print("{:<44} {:>10} {:>10} {:>7} {:>15}\n", "case", "ms", "floor ms", "ratio", "range");

  // Non-negative, sparse-ish features of unit scale, like relu(W v) on unit-norm images.
  const auto x = torch::relu(torch::randn({rows, features}) * 0.1);
  const auto labels = torch::randint(classes, {rows}, torch::kInt64);
  QuietContext ctx;
  NoLayers no_layers;

  // Floor of one head epoch: the two GEMMs of every minibatch, on contiguous rows.
  const auto w = torch::randn({classes, features}) * 0.01;
  const auto g = torch::randn({batch, classes});
  const auto head_floor = [&] {
    for (std::int64_t s = 0; s < rows; s += batch) {
      const auto xb = x.slice(0, s, std::min(rows, s + batch));
      (void)torch::mm(xb, w.t());
      (void)torch::mm(g.slice(0, 0, xb.size(0)).t(), xb);
    }
  };
  const std::vector<std::pair<std::string, std::string>> heads = {
      {"softmax head (Adam, batch 100), epoch", "{name: softmax, batch: 100}"},
      {"krotov head (n 4.5, m 6, batch 100), epoch", "{name: krotov, batch: 100}"},
  };
  const auto wanted = [&](const std::string& name) { return name.find(only) != std::string::npos; };
  for (const auto& [name, head] : heads) {
    if (!wanted(name)) continue;
    // One epoch is told from the head's one-off set-up (the krotov head powers every feature
    // once) by fitting for 1 and for 5 epochs.
    const auto recipe_of = [&](int epochs) {
      return recipe_with(fmt::format("{{name: krotov, hidden: {}}}", features),
                         fmt::format("{}, epochs: {}}}", head.substr(0, head.size() - 1), epochs));
    };
    const auto one = recipe_of(1), five = recipe_of(5);
    const auto fit_ms = [&](const hebbkit::recipe::Recipe& recipe) {
      auto fresh = recipe.head.make<hebbkit::Head>();
      hebbkit::HeadFit fit{x, labels, {}, {}, {}, {}, no_layers, classes};
      return ms_of([&] { fresh->fit(fit, ctx); });
    };
    Row row{name, {}, {}};
    std::vector<double> setup_ms;
    for (int r = 0; r < rounds; ++r) {
      const double t1 = fit_ms(one), t5 = fit_ms(five);
      row.plugin_ms.push_back((t5 - t1) / 4);
      setup_ms.push_back(t1 - row.plugin_ms.back());
      row.floor_ms.push_back(ms_of(head_floor));
    }
    print(row);
    fmt::print("{:<44} {:>10.1f}\n", "  its set-up, once per fit", median(setup_ms));
    // Part of the gap to the floor that any shuffled minibatch pays: copying its rows together.
    std::vector<double> gather_ms;
    for (int r = 0; r < rounds; ++r)
      gather_ms.push_back(ms_of([&] {
        for (const auto& idx : hebbkit::minibatches(rows, batch, /*shuffle=*/true, torch::kCPU))
          (void)x.index_select(0, idx);
      }));
    fmt::print("{:<44} {:>10.1f}\n", "  gathering its shuffled minibatches", median(gather_ms));
    // The heads' closed-form steps do the floor's two products with narrow_linear instead.
    std::vector<double> narrow_ms;
    for (int r = 0; r < rounds; ++r)
      narrow_ms.push_back(ms_of([&] {
        for (std::int64_t s = 0; s < rows; s += batch) {
          const auto xb = x.slice(0, s, std::min(rows, s + batch));
          (void)hebbkit::narrow_linear(xb, w);
          (void)hebbkit::narrow_linear_weight_gradient(g.slice(0, 0, xb.size(0)), xb);
        }
      }));
    fmt::print("{:<44} {:>10.1f}\n", "  the floor's products by narrow_linear", median(narrow_ms));
  }

  // The conv recipes' classifier (cifar10_hebbian_conv, fashion_mnist_krotov_conv): batch norm
  // and dropout 0.5 on 96 x 14 x 14 conv features, batch 64; its floor is the same two GEMMs.
  const std::int64_t conv_rows = std::min<std::int64_t>(rows, 10000), conv_batch = 64;
  if (const auto name = fmt::format("softmax head, batch norm + dropout, {} x 96x14x14", conv_rows); wanted(name)) {
    const auto cx = torch::relu(torch::randn({conv_rows, 96, 14, 14}));
    const auto clabels = torch::randint(classes, {conv_rows}, torch::kInt64);
    const auto flat = cx.flatten(1);
    const auto cw = torch::randn({classes, flat.size(1)}) * 0.01;
    const auto cg = torch::randn({conv_batch, classes});
    // (The layer is never run: feature heads get the features.)
    const auto head = "{name: softmax, batch: 64, batch_norm: true, dropout: 0.5";
    const auto one = recipe_with("{name: krotov, hidden: 10}", fmt::format("{}, epochs: 1}}", head));
    const auto three = recipe_with("{name: krotov, hidden: 10}", fmt::format("{}, epochs: 3}}", head));
    const auto fit_ms = [&](const hebbkit::recipe::Recipe& recipe) {
      auto fresh = recipe.head.make<hebbkit::Head>();
      hebbkit::HeadFit fit{cx, clabels, {}, {}, {}, {}, no_layers, classes};
      return ms_of([&] { fresh->fit(fit, ctx); });
    };
    Row row{name, {}, {}};
    for (int r = 0; r < rounds; ++r) {
      const double t1 = fit_ms(one), t3 = fit_ms(three);
      row.plugin_ms.push_back((t3 - t1) / 2);
      row.floor_ms.push_back(ms_of([&] {
        for (std::int64_t s = 0; s < conv_rows; s += conv_batch) {
          const auto xb = flat.slice(0, s, std::min(conv_rows, s + conv_batch));
          (void)torch::mm(xb, cw.t());
          (void)torch::mm(cg.slice(0, 0, xb.size(0)).t(), xb);
        }
      }));
    }
    print(row);
  }

  // Feature extraction by a frozen Krotov-Hopfield layer, as the host computes a head's inputs.
  if (const auto name = fmt::format("krotov layer {}x{}: features of {} images", features, inputs, rows); wanted(name)) {
    const auto recipe = recipe_with(fmt::format("{{name: krotov, hidden: {}}}", features), "{name: softmax}");
    auto layer = recipe.layers.front().make<hebbkit::Rule>();
    auto synapses = torch::randn({features, inputs});
    synapses = synapses / synapses.norm(2, {1}, true);
    layer->load_state({{"weights", synapses}});
    auto images = torch::rand({rows, inputs});
    images = images / images.norm(2, {1}, true);
    Row row{name, {}, {}};
    for (int r = 0; r < rounds; ++r) {
      row.plugin_ms.push_back(ms_of([&] {
        (void)hebbkit::apply_batched([&](const torch::Tensor& b) { return layer->forward(b); }, images,
                                     extraction_batch);
      }));
      row.floor_ms.push_back(ms_of([&] {
        torch::NoGradGuard no_grad;
        for (std::int64_t s = 0; s < rows; s += extraction_batch)
          (void)torch::mm(images.slice(0, s, std::min(rows, s + extraction_batch)), synapses.t());
      }));
    }
    print(row);
  }

  // Forward-Forward's label scoring (the ff_goodness head, 10 labels) through the plugins,
  // against the direct way (the whole stack once per overlaid label, SDK goodness_scores)
  // and against the way it was when issue 11 was filed: the direct way with every stack run
  // twice per label (its activities, then its output).
  for (const auto& sizes : {std::vector<std::int64_t>{500, 500}, std::vector<std::int64_t>{2000, 2000, 2000, 2000}}) {
    const std::int64_t images_n = std::min<std::int64_t>(rows, sizes.size() > 2 ? 2000 : 10000);
    const auto name = fmt::format("ff_goodness scoring, [784, {}], {} images", fmt::join(sizes, ", "), images_n);
    if (!wanted(name)) continue;
    const auto recipe = recipe_with(fmt::format("{{name: forward_forward, sizes: [{}]}}", fmt::join(sizes, ", ")),
                                    "{name: ff_goodness}");
    auto rule = recipe.layers.front().make<hebbkit::Rule>();
    std::vector<hebbkit::NamedTensor> state;
    std::int64_t in = inputs;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      state.emplace_back(fmt::format("ff{}_weight", i), torch::randn({sizes[i], in}) / std::sqrt(double(in)));
      state.emplace_back(fmt::format("ff{}_bias", i), torch::zeros({sizes[i]}));
      in = sizes[i];
    }
    rule->load_state(state);
    auto head = recipe.head.make<hebbkit::Head>();
    head->load_state({{"classes", torch::full({1}, classes, torch::kInt64)}});
    hebbkit::Rule& stack = *rule;
    std::vector<std::unique_ptr<hebbkit::Rule>> layers;
    layers.push_back(std::move(rule));
    hebbkit::Model model(hebbkit::Preprocessor(), std::move(layers), std::move(head));
    const auto images = torch::rand({images_n, inputs});
    const auto direct = [&](const torch::Tensor& x) { return stack.forward_with_activations(x).activations; };
    // The head's loop when issue 11 was filed: per label, the stack's activities, then its
    // output again (the duplicate pass), and each activity's goodness as pow(2).mean(1).
    const auto as_filed = [&](const torch::Tensor& x) {
      std::vector<torch::Tensor> scores;
      for (std::int64_t c = 0; c < classes; ++c) {
        const auto h = hebbkit::overlay_label(x, torch::full({x.size(0)}, c, torch::kInt64), classes);
        auto total = torch::zeros({x.size(0)});
        for (const auto& a : stack.forward_with_activations(h).activations) total = total + a.pow(2).mean(1);
        (void)stack.forward(h);
        scores.push_back(total);
      }
      return torch::stack(scores, 1);
    };
    torch::NoGradGuard no_grad;
    std::vector<double> ours_ms, direct_ms, filed_ms;
    torch::Tensor ours, reference;
    // In batches of 1000, as the evaluate stage scores a split.
    const auto batched = [&](const auto& score) { return hebbkit::apply_batched(score, images, extraction_batch); };
    for (int r = 0; r < std::min(rounds, 3); ++r) {
      ours_ms.push_back(ms_of([&] { ours = batched([&](const torch::Tensor& b) { return model.logits(b); }); }));
      direct_ms.push_back(ms_of([&] {
        reference = batched([&](const torch::Tensor& b) { return hebbkit::goodness_scores(direct, b, classes); });
      }));
      filed_ms.push_back(ms_of([&] {
        (void)batched(as_filed);
      }));
    }
    const double o = median(ours_ms), d = median(direct_ms), f = median(filed_ms);
    fmt::print("{:<44} {:>10.1f} ms; direct way {:.1f} ms ({:.2f}x); as at issue 11's filing {:.1f} ms ({:.2f}x); "
               "max |logit difference| {:.1e}\n",
               name, o, d, d / o, f, f / o, (ours - reference).abs().max().item<double>());
  }
  return 0;
}
