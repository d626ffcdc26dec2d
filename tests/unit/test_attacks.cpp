// The attack plugins on a small trained model: budgets and bounds hold, FGSM at 0 is a
// no-op, PGD is never weaker than FGSM, Square needs no gradient, and the attack stage
// turns a list of epsilons into a curve.
#include <fstream>

#include "support/catch.hpp"
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "hebbkit/attack.hpp"
#include "hebbkit/dataset.hpp"
#include "hebbkit/errors.hpp"
#include "model/model_store.hpp"
#include "run/host_context.hpp"
#include "run/run_store.hpp"
#include "support/recipe_runs.hpp"
#include "support/scratch_run.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;

namespace {

// A softmax head on raw pixels, trained once on tiny MNIST, reopened for the attacks.
struct Trained {
  TempDir dir{"attacks"};
  std::filesystem::path file;
  Trained() {
    testing::write_idx_dataset(dir / "data/mnist", 300, 100, false);
    file = dir / "lin.yaml";
    std::ofstream(file) << "seed: 0\ndataset: {name: mnist, root: '" << (dir / "data").string()
                        << "', preprocess: [flatten]}\nhead: {name: softmax, epochs: 15, lr: 0.05, batch: 25}\n"
                           "stages: [train, evaluate]\n";
    REQUIRE(testing::run_file(file, dir / "run").status == run::RunStatus::Completed);
  }
  // The attack plugin as a recipe would build it, e.g. "{name: pgd, steps: 10}".
  std::unique_ptr<Attack> attack(const std::string& node) {
    auto recipe = recipe::resolve(recipe::load_with_stages(dir / "run/recipe.resolved.yaml", "[{attack: " + node + "}]", {}),
                                  plugins::default_registry(), recipe::StagesStart::TrainedModel);
    return recipe.stages.at(0).plugin.make<Attack>();
  }
  Model model() {
    auto recipe = testing::resolve_file(file);
    Model m = model::build(recipe);
    model::load(m, recipe, dir / "run/model", torch::kCPU, false);
    return m;
  }
};

// The same model with its input gradient cut: what saturated or masked gradients look like.
class Masked final : public Classifier {
 public:
  explicit Masked(Classifier& inner) : inner_(inner) {}
  torch::Tensor logits(const torch::Tensor& images) override { return inner_.logits(images.detach()); }

 private:
  Classifier& inner_;
};

double accuracy_on(Classifier& model, const torch::Tensor& images, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  return model.logits(images).argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
}

struct TestImages {
  torch::Tensor images, labels;
};

TestImages test_batch(Trained& t) {
  auto recipe = testing::resolve_file(t.file);
  testing::ScratchRun scratch("attacks_ctx");
  auto& ctx = scratch.ctx;
  const auto content = recipe.dataset.make<Dataset>()->load(t.dir / "data", ctx);
  return {content.test.images, content.test.labels};
}

}  // namespace

TEST_CASE("every attack stays inside its epsilon ball and [0, 1]", "[attacks]") {
  Trained t;
  Model model = t.model();
  const auto [x, y] = test_batch(t);
  testing::ScratchRun scratch("attacks_ctx");
  auto& ctx = scratch.ctx;
  torch::manual_seed(3);
  for (const std::string node : {"{name: fgsm}", "{name: pgd, steps: 5}", "{name: pgd, norm: l2, steps: 5}",
                                 "{name: noise}", "{name: noise, norm: l2}", "{name: square, queries: 50}"}) {
    CAPTURE(node);
    auto attack = t.attack(node);
    const double eps = attack->norm() == Norm::L2 ? 1.5 : 0.1;
    const auto out = attack->perturb(model, x, y, eps, ctx).images;
    REQUIRE(out.sizes() == x.sizes());
    CHECK(out.min().item<double>() >= 0);
    CHECK(out.max().item<double>() <= 1);
    CHECK(distance(out, x, attack->norm()).max().item<double>() <= eps * (1 + 1e-5) + 1e-6);
    CHECK_FALSE(torch::equal(out, x));
  }
}

TEST_CASE("FGSM at epsilon 0 changes nothing, and PGD is never weaker than FGSM", "[attacks]") {
  Trained t;
  Model model = t.model();
  const auto [x, y] = test_batch(t);
  testing::ScratchRun scratch("attacks_ctx");
  auto& ctx = scratch.ctx;
  auto fgsm = t.attack("{name: fgsm}");
  CHECK(torch::equal(fgsm->perturb(model, x, y, 0.0, ctx).images, x));

  const double clean = accuracy_on(model, x, y);
  REQUIRE(clean > 0.7);
  for (const double eps : {0.05, 0.1, 0.2}) {
    CAPTURE(eps);
    const double after_fgsm = accuracy_on(model, fgsm->perturb(model, x, y, eps, ctx).images, y);
    const double after_pgd = accuracy_on(model, t.attack("{name: pgd, steps: 20}")->perturb(model, x, y, eps, ctx).images, y);
    const double after_margin = accuracy_on(
        model, t.attack("{name: pgd, steps: 20, loss: margin}")->perturb(model, x, y, eps, ctx).images, y);
    CHECK(after_fgsm <= clean);
    CHECK(after_pgd <= after_fgsm);
    CHECK(after_margin <= after_fgsm);
    if (eps == 0.2) CHECK(after_pgd < clean);  // the easy synthetic digits resist small budgets
  }
}

TEST_CASE("Square lowers accuracy where the gradient says nothing", "[attacks]") {
  Trained t;
  Model model = t.model();
  Masked masked(model);
  const auto [x, y] = test_batch(t);
  testing::ScratchRun scratch("attacks_ctx");
  auto& ctx = scratch.ctx;
  const double clean = accuracy_on(masked, x, y);
  const auto fgsm = t.attack("{name: fgsm}")->perturb(masked, x, y, 0.2, ctx);
  CHECK(fgsm.zero_gradient == x.size(0));  // every gradient is zero: FGSM is blind
  CHECK(accuracy_on(masked, fgsm.images, y) == clean);
  torch::manual_seed(0);
  const auto square = t.attack("{name: square, queries: 200, p_init: 0.3}")->perturb(masked, x, y, 0.2, ctx);
  CHECK(square.zero_gradient == -1);
  CHECK(accuracy_on(masked, square.images, y) < clean - 0.2);
}

TEST_CASE("the attack stage draws a curve over a list of epsilons", "[attacks][stage]") {
  Trained t;
  const auto result = testing::reopen_run(t.dir / "run", t.dir / "curve",
                                          "[{attack: {name: fgsm, epsilons: [0, 0.1, 0.3], limit: 60, batch: 25}}]");
  REQUIRE(result.status == run::RunStatus::Completed);
  const auto summary = testing::read_json(t.dir / "curve/summary.json");
  const auto& entry = summary["attacks"]["stages.0"];
  CHECK(entry["images"] == 60);
  CHECK(entry["norm"] == "linf");
  const auto acc = entry["accuracy"].get<std::vector<double>>();
  REQUIRE(acc.size() == 3);
  CHECK(acc[0] == entry["clean_accuracy"].get<double>());
  CHECK(acc[2] < acc[0]);
  CHECK(entry["zero_gradient_fraction"].get<std::vector<double>>().size() == 3);
  CHECK(std::filesystem::exists(t.dir / "curve/artifacts/attack_stages_0.png"));
}
