// Batch sources (held and streamed layer inputs), the train stage's choice between them,
// and the pieces of checkpoints inside training: optimizer state, generator guard,
// model/partial.json, and fit_classifier continuing from a checkpoint.
#include <algorithm>
#include <fstream>
#include <numeric>

#include "support/catch.hpp"
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "hebbkit/training.hpp"
#include "model/model_store.hpp"
#include "run/host_context.hpp"
#include "run/run_store.hpp"
#include "stages/layer_inputs.hpp"
#include "support/recipe_runs.hpp"
#include "support/scratch_run.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;

namespace {

// A frozen layer with an exactly representable output: 2x + 1.
class Affine final : public Rule {
 public:
  void fit(const LayerFit&, RunContext&) override {}
  torch::Tensor forward(const torch::Tensor& x) override { return x * 2 + 1; }
  std::vector<NamedTensor> state() const override { return {}; }
  void load_state(const std::vector<NamedTensor>&) override {}
};

std::vector<std::int64_t> order_of_one_epoch(BatchSource& source, std::int64_t batch, bool shuffle) {
  std::vector<std::int64_t> rows;
  source.for_each_batch(batch, shuffle, [&](const Batch& b) {
    // Inputs hold their row number, labels row % 10: both must match the index.
    REQUIRE(torch::equal(b.inputs.select(1, 0).to(torch::kInt64), b.index));
    REQUIRE(torch::equal(b.labels, b.index.remainder(10)));
    for (std::int64_t i = 0; i < b.index.size(0); ++i) rows.push_back(b.index[i].item<std::int64_t>());
  });
  return rows;
}

TensorSource counting_source(std::int64_t n) {
  auto inputs = torch::arange(n, torch::kFloat32).unsqueeze(1).repeat({1, 3});
  return TensorSource(inputs, torch::arange(n, torch::kInt64).remainder(10));
}

}  // namespace

TEST_CASE("a batch source visits every row once per epoch, in a seeded order", "[layer_inputs]") {
  auto source = counting_source(23);
  CHECK(source.sample_shape() == std::vector<std::int64_t>{3});
  const auto plain = order_of_one_epoch(source, 5, false);
  std::vector<std::int64_t> expected(23);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(plain == expected);

  torch::manual_seed(7);
  const auto first = order_of_one_epoch(source, 5, true);
  const auto second = order_of_one_epoch(source, 5, true);
  torch::manual_seed(7);
  CHECK(order_of_one_epoch(source, 5, true) == first);
  CHECK(first != second);
  auto sorted = first;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == expected);
}

TEST_CASE("a tensor source refuses labels that do not match its rows", "[layer_inputs]") {
  CHECK_THROWS_AS(TensorSource(torch::zeros({4, 2}), torch::zeros({3}, torch::kInt64)), DataError);
}

TEST_CASE("a streamed source gives what holding the outputs of the frozen layers gives", "[layer_inputs]") {
  Affine a, b;
  const auto base = torch::randn({37, 2, 3});
  const auto labels = torch::arange(37, torch::kInt64);
  stages::StreamedSource streamed(base, labels, {&a, &b}, 8);
  const auto held = (base * 2 + 1) * 2 + 1;
  CHECK_FALSE(streamed.precomputed());
  CHECK(streamed.sample_shape() == std::vector<std::int64_t>{2, 3});
  CHECK(torch::equal(streamed.all(), held));
  const auto idx = torch::tensor({5, 0, 36, 5}, torch::kInt64);
  CHECK(torch::equal(streamed.rows(idx), held.index_select(0, idx)));
  CHECK(stages::bytes_of(37, {2, 3}) == 37 * 6 * 4);
}

TEST_CASE("optimizer state survives the round trip through a tensor", "[checkpoint]") {
  torch::manual_seed(1);
  auto w = torch::randn({4, 3}).requires_grad_(true);
  const auto step = [](torch::optim::Optimizer& opt, torch::Tensor& p) {
    opt.zero_grad();
    (p * p).sum().backward();
    opt.step();
  };
  torch::optim::Adam adam({w}, torch::optim::AdamOptions(0.1));
  for (int i = 0; i < 3; ++i) step(adam, w);
  const auto bytes = optimizer_state(adam);
  CHECK(bytes.scalar_type() == torch::kUInt8);

  auto copy = w.detach().clone().requires_grad_(true);
  torch::optim::Adam restored({copy}, torch::optim::AdamOptions(0.1));
  load_optimizer_state(restored, bytes);
  step(adam, w);
  step(restored, copy);
  CHECK(torch::equal(w, copy));  // a fresh Adam would take a different (bias-corrected) step

  CHECK_THROWS_AS(load_optimizer_state(restored, torch::zeros({5}, torch::kUInt8)), DataError);
}

TEST_CASE("GeneratorGuard puts the generator back", "[checkpoint]") {
  torch::manual_seed(3);
  const auto expected = torch::rand({5});
  torch::manual_seed(3);
  {
    GeneratorGuard keep;
    torch::randn({100});
  }
  CHECK(torch::equal(torch::rand({5}), expected));
}

TEST_CASE("model/partial.json: a new checkpoint replaces the old whole, and is removed at the end", "[checkpoint]") {
  TempDir dir("partial");
  const auto folder = dir / "model";
  torch::manual_seed(5);
  model::save_partial(folder, "layers.1", {3, {{"weights", torch::ones({2, 2})}}});
  const auto generator_then = generator_state();
  torch::rand({10});
  model::save_partial(folder, "layers.1", {4, {{"weights", torch::full({2, 2}, 2.0)}}});
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(folder))
    files += e.path().filename().string().rfind("partial_e", 0) == 0;
  CHECK(files == 2);  // the newer checkpoint's tensor and generator state only

  const auto loaded = model::load_partial(folder, torch::kCPU);
  REQUIRE(loaded);
  CHECK(loaded->part == "layers.1");
  CHECK(loaded->checkpoint.epochs_done == 4);
  CHECK(torch::equal(find_state(loaded->checkpoint.tensors, "weights"), torch::full({2, 2}, 2.0)));
  CHECK_FALSE(torch::equal(loaded->generator_state, generator_then));

  model::remove_partial_files(folder);
  CHECK_FALSE(model::load_partial(folder, torch::kCPU));
  CHECK(std::filesystem::is_empty(folder));
}

namespace {

// Stands in for the train stage: keeps every epoch's checkpoint with the generator state,
// and hands one back as the resume point.
struct RecordingSink final : run::CheckpointSink {
  std::vector<std::pair<TrainingCheckpoint, torch::Tensor>> taken;
  std::optional<std::pair<TrainingCheckpoint, torch::Tensor>> give;
  std::optional<TrainingCheckpoint> resume_point() override {
    if (!give) return std::nullopt;
    set_generator_state(give->second);
    return give->first;
  }
  void epoch_finished(std::int64_t epochs_done, const std::function<std::vector<NamedTensor>()>& state) override {
    std::vector<NamedTensor> copy;
    for (const auto& [name, t] : state()) copy.emplace_back(name, t.detach().clone());
    taken.emplace_back(TrainingCheckpoint{epochs_done, copy}, generator_state());
  }
};

}  // namespace

TEST_CASE("fit_classifier continues from a checkpoint exactly where it stopped", "[checkpoint][training]") {
  testing::ScratchRun scratch("classifier_resume");
  auto& ctx = scratch.ctx;
  torch::manual_seed(0);
  const auto x = torch::randn({120, 6});
  const auto y = x.slice(1, 0, 3).argmax(1);
  ClassifierTraining training;
  training.label = "test head";
  training.epochs = 5;
  training.batch = 16;
  training.optimizer.lr = 0.05;
  training.optimizer.lr_decay = 0.9;
  const auto fit = [&](torch::Tensor& w, RecordingSink& sink) {
    ctx.set_checkpoints(&sink);
    fit_classifier({w}, [&](const torch::Tensor& b) { return torch::mm(b, w); },
                   [](const torch::Tensor& l, const torch::Tensor& t) { return torch::nn::functional::cross_entropy(l, t); },
                   x, y, {}, {}, training, ctx);
    ctx.set_checkpoints(nullptr);
  };

  torch::manual_seed(1);
  auto whole = torch::zeros({6, 3}).requires_grad_(true);
  RecordingSink recorder;
  fit(whole, recorder);
  REQUIRE(recorder.taken.size() == 5);

  torch::manual_seed(99);  // a different generator: the checkpoint's must win
  auto resumed = torch::zeros({6, 3}).requires_grad_(true);
  RecordingSink resume;
  resume.give = recorder.taken[1];  // after epoch 2 of 5
  fit(resumed, resume);
  CHECK(resume.taken.size() == 3);
  CHECK(torch::equal(whole, resumed));
}

TEST_CASE("train streams layer inputs past the budget and gets what holding them gets", "[layer_inputs][pipeline]") {
  TempDir dir("streamed");
  testing::write_idx_dataset(dir / "data/mnist", 300, 100, false);
  const auto file = dir / "two.yaml";
  std::ofstream(file) << "seed: 2\ndataset: {name: mnist, root: '" << (dir / "data").string()
                      << "', validation: 50, preprocess: [flatten, center, unit_norm]}\n"
                         "layers:\n"
                         "  - rule: {name: krotov, hidden: 40, k: 3, epochs: 2, batch: 25}\n"
                         "  - rule: {name: krotov, hidden: 30, k: 3, epochs: 3, batch: 25}\n"
                         "  - rule: {name: krotov, hidden: 20, k: 3, epochs: 2, batch: 25}\n"
                         "head: {name: softmax, epochs: 3, lr: 0.05}\n"
                         "stages: [train, evaluate]\n";
  const auto run = [&](const std::string& name, const std::string& train) {
    REQUIRE(testing::run_file(file, dir / name, {"stages=[{train: " + train + "}, evaluate]"}).status == run::RunStatus::Completed);
    std::ifstream log(dir / name / "log.txt");
    return std::string(std::istreambuf_iterator<char>(log), {});
  };
  const auto held = run("held", "{layer_inputs: memory}");
  const auto streamed = run("streamed", "{layer_inputs: stream}");
  const auto budget = run("budget", "{inputs_memory_gib: 0}");
  CHECK_THAT(held, !Contains("computed per batch"));
  CHECK_THAT(streamed, Contains("layers.2: training with rule 'krotov' on inputs 250x30 (computed per batch)"));
  CHECK_THAT(streamed, Contains("each batch is computed from layer 0's inputs through layers 0..0"));
  CHECK_THAT(streamed, Contains("each batch is computed from layer 0's inputs through layers 0..1"));
  CHECK_THAT(budget, Contains("exceed train.inputs_memory_gib = 0.00"));

  for (const char* part : {"layer1_weights.npy", "layer2_weights.npy", "head_weight.npy"}) {
    CAPTURE(part);
    const auto a = io::load_npy(dir / "held/model" / part);
    CHECK(torch::allclose(a, io::load_npy(dir / "streamed/model" / part), 1e-5, 1e-6));
    CHECK(torch::allclose(a, io::load_npy(dir / "budget/model" / part), 1e-5, 1e-6));
  }
  const auto summary = testing::read_json(dir / "streamed/summary.json");
  CHECK(summary["peak_rss_mib"].get<double>() > 10);
  CHECK(std::abs(summary["test_accuracy"].get<double>() -
                 testing::read_json(dir / "held/summary.json")["test_accuracy"].get<double>()) < 0.02);
}
