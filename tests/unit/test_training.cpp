#include <cmath>
#include <fstream>

#include "support/catch.hpp"
#include <torch/nn/functional/loss.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "hebbkit/dropout.hpp"
#include "hebbkit/model.hpp"
#include "hebbkit/goodness.hpp"
#include "hebbkit/training.hpp"
#include "run/host_context.hpp"
#include "support/scratch_run.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;

namespace {
// Adam at `lr`, multiplied by `lr_decay` every epoch.
ClassifierTraining training_of(const std::string& label, std::int64_t epochs, std::int64_t batch, double lr,
                               double lr_decay, const std::string& advice) {
  ClassifierTraining t;
  t.label = label;
  t.epochs = epochs;
  t.batch = batch;
  t.optimizer.lr = lr;
  t.optimizer.lr_decay = lr_decay;
  t.divergence_advice = advice;
  return t;
}
}  // namespace

TEST_CASE("apply_batched equals applying at once, without a graph", "[training]") {
  auto x = torch::randn({23, 4}).requires_grad_(true);
  const auto y = apply_batched([](const torch::Tensor& b) { return b * 2 + 1; }, x, 5);
  CHECK(torch::equal(y, (x * 2 + 1).detach()));
  CHECK_FALSE(y.requires_grad());
}

TEST_CASE("goodness scores sum each layer's mean squared activity per overlaid label", "[training][goodness]") {
  torch::manual_seed(0);
  const auto x = torch::rand({6, 20});
  const auto w1 = torch::randn({20, 8}), w2 = torch::randn({8, 5});
  const auto acts = [&](const torch::Tensor& v) {
    const auto a = torch::relu(v.mm(w1));
    return std::vector<torch::Tensor>{a, torch::relu(a.mm(w2))};
  };
  const auto scores = goodness_scores(acts, x, 4, 0);
  const auto skipped = goodness_scores(acts, x, 4, 1);
  REQUIRE(scores.sizes() == torch::IntArrayRef{6, 4});
  for (std::int64_t c = 0; c < 4; ++c) {
    const auto overlaid = overlay_label(x, torch::full({6}, c, torch::kInt64), 4);
    const auto a = acts(overlaid);
    CHECK(torch::allclose(scores.select(1, c), a[0].pow(2).mean(1) + a[1].pow(2).mean(1), 1e-6, 1e-6));
    CHECK(torch::allclose(skipped.select(1, c), a[1].pow(2).mean(1), 1e-6, 1e-6));
  }
}

namespace {
// A fixed linear layer with a ReLU whose activities are its output: the default
// Rule::forward_overlaid, with no shortcut of its own.
class FixedLayer final : public Rule {
 public:
  explicit FixedLayer(torch::Tensor w) : w_(std::move(w)) {}
  void fit(const LayerFit&, RunContext&) override {}
  torch::Tensor forward(const torch::Tensor& x) override { return torch::relu(x.flatten(1).mm(w_)); }
  std::vector<NamedTensor> state() const override { return {{"w", w_}}; }
  void load_state(const std::vector<NamedTensor>&) override {}

 private:
  torch::Tensor w_;
};
}  // namespace

TEST_CASE("goodness scores through a stack of rules equal the per-label passes", "[training][goodness]") {
  torch::manual_seed(1);
  const auto x = torch::rand({6, 20});
  const auto w1 = torch::randn({20, 8}), w2 = torch::randn({8, 5});
  FixedLayer bottom(w1), top(w2);
  const std::vector<Rule*> stack{&bottom, &top};
  const auto acts = [&](const torch::Tensor& v) {
    const auto a = torch::relu(v.mm(w1));
    return std::vector<torch::Tensor>{a, torch::relu(a.mm(w2))};
  };
  for (const std::size_t skip : {0, 1}) {
    const auto via_stack = goodness_scores(stack, x, 4, skip);
    REQUIRE(via_stack.sizes() == torch::IntArrayRef{6, 4});
    CHECK(torch::allclose(via_stack, goodness_scores(acts, x, 4, skip), 1e-6, 1e-6));
  }
  CHECK_THROWS(goodness_scores(std::vector<Rule*>{}, x, 4, 0));
}

namespace {
// FixedLayer that is also an OverlaidLayer handing over its activity's squared norms, scaled
// by `factor` so that a test can tell whether goodness_scores used them.
class LayerWithSquares final : public Rule, public OverlaidLayer {
 public:
  LayerWithSquares(torch::Tensor w, double factor) : w_(std::move(w)), factor_(factor) {}
  void fit(const LayerFit&, RunContext&) override {}
  torch::Tensor forward(const torch::Tensor& x) override { return torch::relu(x.flatten(1).mm(w_)); }
  void forward_overlaid(const torch::Tensor& x, std::int64_t num_classes,
                        const std::function<void(std::int64_t, OverlaidOutput)>& each) override {
    for (std::int64_t c = 0; c < num_classes; ++c) {
      OverlaidOutput out{
          forward_with_activations(overlay_label(x, torch::full({x.size(0)}, c, torch::kInt64), num_classes)), {}};
      out.squared_norms = {out.layer.activations[0].pow(2).sum(1) * factor_};
      each(c, std::move(out));
    }
  }
  std::vector<NamedTensor> state() const override { return {{"w", w_}}; }
  void load_state(const std::vector<NamedTensor>&) override {}

 private:
  torch::Tensor w_;
  double factor_;
};
}  // namespace

TEST_CASE("goodness scores take the squared norms a rule hands over instead of recomputing them",
          "[training][goodness]") {
  torch::manual_seed(2);
  const auto x = torch::rand({5, 20});
  const auto w1 = torch::randn({20, 8}), w2 = torch::randn({8, 5});
  FixedLayer top(w2);
  LayerWithSquares exact(w1, 1.0), tripled(w1, 3.0);
  const auto acts = [&](const torch::Tensor& v) {
    const auto a = torch::relu(v.mm(w1));
    return std::vector<torch::Tensor>{a, torch::relu(a.mm(w2))};
  };
  const auto reference = goodness_scores(acts, x, 4, 0);
  CHECK(torch::allclose(goodness_scores(std::vector<Rule*>{&exact, &top}, x, 4, 0), reference, 1e-6, 1e-6));
  // The bottom layer's goodness comes from the norms handed over (tripled), the top's is computed.
  const auto bottom_only = goodness_scores(acts, x, 4, 0) - goodness_scores(acts, x, 4, 1);
  CHECK(torch::allclose(goodness_scores(std::vector<Rule*>{&tripled, &top}, x, 4, 0), reference + 2 * bottom_only,
                        1e-5, 1e-5));
}

TEST_CASE("classifier learning rates: decay, steps, and cosine cycles with warm restarts", "[training][head]") {
  OptimizerParams t;
  t.lr = 0.05;
  CHECK(t.lr_at(7) == Approx(0.05));
  t.lr_decay = 0.5;
  CHECK(t.lr_at(2) == Approx(0.0125));
  t.lr_step = 2;
  CHECK(t.lr_at(3) == Approx(0.025));
  // MultiStepLR(milestones=[2, 5], gamma=0.5), stepped per epoch.
  t.lr_milestones = {2, 5};
  CHECK(t.lr_at(1) == Approx(0.05));
  CHECK(t.lr_at(2) == Approx(0.025));
  CHECK(t.lr_at(4) == Approx(0.025));
  CHECK(t.lr_at(5) == Approx(0.0125));
  CHECK(t.lr_at(40) == Approx(0.0125));
  t.lr_milestones.clear();
  // PyTorch's CosineAnnealingWarmRestarts(T_0=10, T_mult=2), stepped per epoch: cycles of
  // 10, 20, 40 epochs starting at 0, 10, 30; halfway through each the rate is half.
  t.restart_epochs = 10;
  t.restart_mult = 2;
  CHECK(t.lr_at(0) == Approx(0.05));
  CHECK(t.lr_at(5) == Approx(0.025));
  CHECK(t.lr_at(9) == Approx(0.05 * 0.5 * (1 + std::cos(M_PI * 0.9))));
  CHECK(t.lr_at(10) == Approx(0.05));
  CHECK(t.lr_at(20) == Approx(0.025));
  CHECK(t.lr_at(30) == Approx(0.05));
  CHECK(t.lr_at(50) == Approx(0.025));
  CHECK(t.lr_at(149) == Approx(0.05 * 0.5 * (1 + std::cos(M_PI * 79.0 / 80.0))));
  t.restart_mult = 1;
  CHECK(t.lr_at(25) == Approx(0.025));
}

TEST_CASE("fit_classifier trains, logs its metrics and warns about a head at chance", "[training][head]") {
  testing::ScratchRun scratch("fit");
  auto& ctx = scratch.ctx;
  torch::manual_seed(0);
  const auto x = torch::randn({200, 5});
  const auto y = x.select(1, 0).gt(0).to(torch::kInt64);
  auto w = torch::zeros({5, 2}).requires_grad_(true);
  const auto ce = [](const torch::Tensor& logits, const torch::Tensor& labels) {
    return torch::nn::functional::cross_entropy(logits, labels);
  };
  SECTION("a learnable problem is learnt") {
    fit_classifier({w}, [&](const torch::Tensor& b) { return b.mm(w); }, ce, x, y, x, y,
                   training_of("test head", 10, 20, 0.1, 0.9, ""), ctx);
    CHECK(accuracy(x.mm(w), y) > 0.95);
    int losses = 0, val = 0;
    for (const auto& p : ctx.history()) {
      losses += p.name == "loss";
      val += p.name == "val_accuracy";
    }
    CHECK(losses == 10);
    CHECK(val == 10);
  }
  SECTION("a head that cannot learn gets a warning in the log") {
    // Constant logits favour class 0 while every label is 1: accuracy 0 with a finite loss.
    auto bias = torch::zeros({1}).requires_grad_(true);
    const auto stuck = [&](const torch::Tensor& b) {
      return torch::tensor({5.0f, -5.0f}).expand({b.size(0), 2}) + bias * 0;
    };
    fit_classifier({bias}, stuck, ce, x, torch::ones({200}, torch::kInt64), {}, {},
                   training_of("stuck head", 2, 50, 0.1, 1.0, ""), ctx);
    std::ifstream log(scratch.dir / "run/log.txt");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Contains("stuck head: train accuracy after the last epoch is 0.0%, near chance"));
  }
  SECTION("a NaN loss stops training with the label and the advice") {
    CHECK_THROWS_WITH(fit_classifier({w}, [&](const torch::Tensor& b) { return b.mm(w) * NAN; }, ce, x, y, {}, {},
                                     training_of("nan head", 2, 50, 0.1, 1.0, "try less"), ctx),
                      Contains("nan head loss at epoch 0 is nan") && Contains("try less"));
  }
}

TEST_CASE("fit_classifier with mirrored inputs takes each row or its mirror's, at random in every minibatch",
          "[training][head]") {
  testing::ScratchRun scratch("mirror");
  torch::manual_seed(0);
  const auto x = torch::ones({400, 3});
  const auto y = torch::zeros({400}, torch::kInt64);
  auto w = torch::zeros({3, 2}).requires_grad_(true);
  std::vector<torch::Tensor> seen;
  auto training = training_of("mirror head", 3, 50, 0.1, 1.0, "");
  training.mirrored = x * 2;  // a mirrored row shows as 2s
  fit_classifier(
      {w},
      [&](const torch::Tensor& b) {
        seen.push_back(b.select(1, 0).detach().clone());
        return b.mm(w);
      },
      [](const torch::Tensor& logits, const torch::Tensor& labels) {
        return torch::nn::functional::cross_entropy(logits, labels);
      },
      x, y, {}, {}, training, scratch.ctx);
  const auto rows = torch::cat(seen);
  REQUIRE(rows.size(0) == 3 * 400);
  CHECK(rows.eq(1).logical_or(rows.eq(2)).all().item<bool>());
  const double mirrored = rows.eq(2).to(torch::kFloat64).mean().item<double>();
  CHECK(mirrored > 0.42);
  CHECK(mirrored < 0.58);
  training.mirrored = torch::ones({400, 4});
  CHECK_THROWS_WITH(fit_classifier({w}, [&](const torch::Tensor& b) { return b.mm(w); },
                                   [](const torch::Tensor& l, const torch::Tensor& t) {
                                     return torch::nn::functional::cross_entropy(l, t);
                                   },
                                   x, y, {}, {}, training, scratch.ctx),
                    Contains("mirrored inputs 400x4 for inputs 400x3"));
}

TEST_CASE("fit_classifier's closed-form path trains as autograd does, and a wrong formula is refused",
          "[training][head]") {
  testing::ScratchRun scratch("closed_form");
  auto& ctx = scratch.ctx;
  torch::manual_seed(0);
  const auto x = torch::randn({300, 6});
  const auto y = torch::argmax(x.slice(1, 0, 3), 1);
  const auto logits_of = [](const torch::Tensor& w) {
    return [w](const torch::Tensor& b) { return b.mm(w); };
  };
  const auto ce = [](const torch::Tensor& logits, const torch::Tensor& labels) {
    return torch::nn::functional::cross_entropy(logits, labels);
  };
  // d mean CE / d w = x^T (softmax - onehot) / B.
  const auto closed_form = [](const torch::Tensor& w, double scale) {
    return [w, scale](const RowSelection& rows, const torch::Tensor& labels) {
      const auto b = rows.gathered();
      const auto logits = b.mm(w);
      auto g = torch::softmax(logits, 1) - torch::one_hot(labels, 3).to(torch::kFloat32);
      return ClosedFormStep{logits, torch::nn::functional::cross_entropy(logits, labels),
                            {b.t().mm(g) * (scale / b.size(0))}};
    };
  };
  auto w_auto = torch::zeros({6, 3}).requires_grad_(true), w_closed = torch::zeros({6, 3}).requires_grad_(true);
  ClassifierTraining training = training_of("toy head", 3, 32, 0.05, 0.9, "");
  torch::manual_seed(1);
  fit_classifier({w_auto}, logits_of(w_auto), ce, x, y, {}, {}, training, ctx);
  training.closed_form = closed_form(w_closed, 1.0);
  torch::manual_seed(1);
  fit_classifier({w_closed}, logits_of(w_closed), ce, x, y, {}, {}, training, ctx);
  CHECK(accuracy(x.mm(w_closed), y) > 0.8);
  CHECK(torch::allclose(w_closed, w_auto, 1e-5, 1e-6));

  auto w_wrong = torch::zeros({6, 3}).requires_grad_(true);
  training.closed_form = closed_form(w_wrong, 2.0);
  CHECK_THROWS_WITH(fit_classifier({w_wrong}, logits_of(w_wrong), ce, x, y, {}, {}, training, ctx),
                    Contains("toy head: its closed-form gradient of parameter 0 differs from autograd's"));
  CHECK(torch::equal(w_wrong, torch::zeros({6, 3})));

  // A step that miscounts its right answers is refused as well.
  auto w_miscount = torch::zeros({6, 3}).requires_grad_(true);
  training.closed_form = [inner = closed_form(w_miscount, 1.0)](const RowSelection& b, const torch::Tensor& labels) {
    auto step = inner(b, labels);
    step.correct = b.size() + 1;
    return step;
  };
  CHECK_THROWS_WITH(fit_classifier({w_miscount}, logits_of(w_miscount), ce, x, y, {}, {}, training, ctx),
                    Contains("toy head: its closed-form step counted 33 rows right"));
}

TEST_CASE("apply_batched joins the parts in order and never aliases its input", "[training]") {
  const auto x = torch::arange(10, torch::kFloat32).reshape({5, 2});
  const auto same = apply_batched([](const torch::Tensor& b) { return b; }, x, 2);
  CHECK(torch::equal(same, x));
  CHECK(same.data_ptr() != x.data_ptr());
  CHECK(torch::equal(apply_batched([](const torch::Tensor& b) { return b.sum(1); }, x, 10), x.sum(1)));
  CHECK(apply_batched([](const torch::Tensor& b) { return b * 2; }, x.slice(0, 0, 0), 2).size(0) == 0);
}

TEST_CASE("a layer too big for the machine is refused before it is allocated, naming the key", "[training][errors]") {
  CHECK_NOTHROW(check_fits_in_memory(1e6, "layers.0.rule.hidden = 10", "10 units x 784 inputs"));
  CHECK_THROWS_WITH(check_fits_in_memory(1e18, "layers.0.rule.hidden = 10", "10 units x 784 inputs"),
                    Contains("layers.0.rule.hidden = 10: 10 units x 784 inputs need about 1000000000.0 GB; this machine "
                             "has"));
  CHECK(machine_memory_bytes() > 1e8);
}

TEST_CASE("a closed form with dropout and a running buffer trains as autograd does", "[training][head]") {
  testing::ScratchRun scratch("closed_form_dropout");
  auto& ctx = scratch.ctx;
  torch::manual_seed(0);
  const auto x = torch::randn({300, 6});
  const auto y = torch::argmax(x.slice(1, 0, 3), 1);
  const auto ce = [](const torch::Tensor& logits, const torch::Tensor& labels) {
    return torch::nn::functional::cross_entropy(logits, labels);
  };
  // A head as the softmax head with dropout: a running mean of its inputs (a buffer) and a
  // fresh mask per minibatch, both before the only parameter.
  struct Toy {
    torch::Tensor w = torch::zeros({6, 3}).requires_grad_(true), running = torch::zeros({6});
    torch::Tensor input(const torch::Tensor& b) {
      running.mul_(0.9).add_(b.mean(0), 0.1);
      return hebbkit::dropout(b, 0.3, /*train=*/true);
    }
  };
  Toy by_autograd, by_formula;
  ClassifierTraining training = training_of("dropout head", 3, 32, 0.05, 0.9, "");
  training.buffers = {by_autograd.running};
  torch::manual_seed(1);
  fit_classifier({by_autograd.w}, [&](const torch::Tensor& b) { return by_autograd.input(b).mm(by_autograd.w); }, ce,
                 x, y, {}, {}, training, ctx);
  training.buffers = {by_formula.running};
  training.closed_form = [&](const RowSelection& rows, const torch::Tensor& labels) {
    const auto b = by_formula.input(rows.gathered());
    const auto logits = b.mm(by_formula.w);
    auto step = cross_entropy_step(logits, labels);
    return ClosedFormStep{logits, step.loss, {b.t().mm(step.grad)}, step.correct};
  };
  torch::manual_seed(1);
  fit_classifier({by_formula.w}, [&](const torch::Tensor& b) { return by_formula.input(b).mm(by_formula.w); }, ce, x,
                 y, {}, {}, training, ctx);
  CHECK(torch::allclose(by_formula.w, by_autograd.w, 1e-5, 1e-6));
  CHECK(torch::allclose(by_formula.running, by_autograd.running, 1e-6, 1e-7));
  CHECK(accuracy(x.mm(by_formula.w), y) > 0.7);
}

TEST_CASE("cross_entropy_step gives ATen's loss, gradient and argmax count in one pass", "[training][head]") {
  torch::manual_seed(3);
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    auto logits = (torch::randn({37, 10}) * 4).to(dtype);
    logits[5].fill_(1.5);  // a tie: the first class counts as the argmax, as torch's argmax
    const auto labels = torch::randint(10, {37}, torch::kInt64);
    labels[5].fill_(0);
    const auto ce = cross_entropy_step(logits, labels);
    const auto leaf = logits.clone().requires_grad_(true);
    const auto reference = torch::nn::functional::cross_entropy(leaf, labels);
    reference.backward();
    const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
    CHECK(ce.loss.dim() == 0);
    CHECK(ce.loss.scalar_type() == dtype);
    CHECK(ce.loss.item<double>() == Approx(reference.item<double>()).epsilon(tol));
    CHECK(torch::allclose(ce.grad, leaf.grad(), tol, tol));
    CHECK(ce.correct == logits.argmax(1).eq(labels).sum().item<std::int64_t>());
    CHECK(ce.correct >= 1);
  }
  // Rows of huge logits stay finite (the row's max is taken out before exp).
  const auto big = torch::tensor({{1000.0f, 0.0f}, {0.0f, -1000.0f}});
  const auto ce = cross_entropy_step(big, torch::tensor({1, 0}, torch::kInt64));
  CHECK(ce.loss.item<double>() == Approx(500.0));
  CHECK(torch::isfinite(ce.grad).all().item<bool>());
  CHECK(ce.correct == 1);
  CHECK_THROWS_WITH(cross_entropy_step(torch::zeros({2, 3}), torch::tensor({0, 3}, torch::kInt64)),
                    Contains("label 3 of row 1 is not a class of 3 logits"));
  CHECK_THROWS_WITH(cross_entropy_step(torch::zeros({2, 3}), torch::zeros({3}, torch::kInt64)),
                    Contains("logits of shape 2x3 need labels of shape (2), got 3"));
}

TEST_CASE("AdamW decays the weights apart from the gradient; Adam puts weight_decay into it", "[training][optimizer]") {
  // One step with no gradient of the loss: AdamW shrinks w by lr x weight_decay exactly;
  // Adam's L2 term is a gradient of its own, normalised to a step of about lr.
  const auto step = [](OptimizerKind kind) {
    auto w = torch::ones({1}, torch::requires_grad());
    OptimizerParams p;
    p.optimizer = kind;
    p.lr = 0.1;
    p.weight_decay = 0.5;
    auto optimizer = make_optimizer({w}, p);
    w.mutable_grad() = torch::zeros({1});
    optimizer->step();
    return w.item<double>();
  };
  CHECK(step(OptimizerKind::AdamW) == Approx(0.95).epsilon(1e-6));
  CHECK(step(OptimizerKind::Adam) == Approx(0.9).epsilon(1e-4));
}
