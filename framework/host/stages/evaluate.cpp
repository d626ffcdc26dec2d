// evaluate: accuracy of the whole model (raw pixels -> logits) on each split.
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/head.hpp"
#include "hebbkit/io.hpp"
#include "hebbkit/training.hpp"
#include "recipe/recipe.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {

const std::vector<std::string> split_names = {"train", "val", "test"};

class Evaluate final : public Stage {
 public:
  explicit Evaluate(const Params& p) : splits_(p.strings("splits")), save_logits_(p.boolean("save_logits")) {
    for (const auto& s : splits_)
      if (std::find(split_names.begin(), split_names.end(), s) == split_names.end())
        p.fail("splits", fmt::format("unknown split '{}'; splits: train, val, test", s));
  }

  void run(StageEnv& env) override {
    const auto& data = env.data;
    for (const auto& name : splits_) {
      const Split& split = name == "train" ? data.train : name == "val" ? data.val : data.test;
      if (split.size() == 0) continue;
      // A deep stack takes minutes over 50,000 images: show progress per batch.
      const std::int64_t batch = env.recipe.data.eval_batch;
      const auto& held = name == "train" ? env.held_features.train : env.held_features.val;
      auto* feature_head = dynamic_cast<FeatureHead*>(&env.model.head());
      torch::Tensor logits;
      if (name != "test" && held.defined() && feature_head != nullptr) {
        env.ctx.info("{} split: scored from the features the head was trained on", name);
        logits = apply_batched([&](const torch::Tensor& f) { return feature_head->logits_from_features(f); }, held,
                               batch);
      } else {
        auto progress = env.ctx.progress(fmt::format("{} split", name), (split.size() + batch - 1) / batch, "batch");
        logits = apply_batched(
            [&](const torch::Tensor& x) {
              auto out = env.model.logits(x);
              progress->advance();
              return out;
            },
            split.images, batch);
        progress->finish();
      }
      // A head for another number of classes would score at chance without a word.
      if (logits.dim() != 2 || logits.size(1) != data.num_classes())
        throw DataError(fmt::format("the model gives {} scores per image, but {} has {} classes: its head was trained "
                                    "on other data (or its weights were replaced)",
                                    logits.dim() == 2 ? logits.size(1) : logits.numel(), env.recipe.dataset.name(),
                                    data.num_classes()));
      const double acc = accuracy(logits, split.labels);
      env.ctx.metric(fmt::format("{}_accuracy", name), acc);
      (name == "train" ? env.summary.train_accuracy : name == "val" ? env.summary.val_accuracy : env.summary.test_accuracy) = acc;
      env.ctx.info("{} accuracy {:.2f}% ({} images)", name, 100 * acc, split.size());
      if (save_logits_) {
        const auto file = env.store.artifacts() / fmt::format("logits_{}.npy", name);
        io::save_npy(file, logits.to(torch::kCPU));
        env.artifact(file);
      }
    }
    env.held_features = {};  // gigabytes for a deep stack; no later stage needs them
  }

 private:
  std::vector<std::string> splits_;
  bool save_logits_;
};

}  // namespace

StageType evaluate_stage() {
  StageType t;
  t.name = "evaluate";
  t.summary = "accuracy on train, validation and test (summary: <split>_accuracy, test_error)";
  t.schema = {
      spec::strings("splits", {"train", "val", "test"}, "splits to evaluate (train, val, test); absent ones are skipped"),
      spec::boolean("save_logits", false, "also save each split's logits as artifacts/logits_<split>.npy"),
  };
  t.make = [](const recipe::StageUse& use) { return std::make_unique<Evaluate>(*use.params); };
  return t;
}

}  // namespace hebbkit::stages
