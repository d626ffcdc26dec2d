// evaluate: accuracy of the whole model (raw pixels -> logits) on each split.
#include <torch/types.h>

#include "hebbkit/collective.hpp"
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
    Collective& world = env.ctx.collective();
    for (const auto& name : splits_) {
      const Split& split = name == "train" ? data.train : name == "val" ? data.val : data.test;
      if (split.size() == 0) continue;
      // Data-parallel: each process scores its slice of the split; the counts are summed.
      const ShardRange rows = shard_range(split.size(), world);
      const auto mine = [&](const torch::Tensor& t) { return t.slice(0, rows.begin, rows.end); };
      torch::Tensor logits;  // this process's rows; undefined when it has none
      if (rows.end > rows.begin) logits = score(env, name, split, rows);
      // A head for another number of classes would score at chance without a word.
      const bool scored = !logits.defined() || (logits.dim() == 2 && logits.size(1) == data.num_classes());
      std::vector<torch::Tensor> counts = {torch::tensor(
          {scored && logits.defined() ? logits.argmax(1).eq(mine(split.labels)).sum().item<std::int64_t>() : 0,
           std::int64_t{scored ? 0 : 1}})};
      world.all_reduce_sum(counts);  // every process, before any throws: none is left waiting
      if (!scored || counts[0][1].item<std::int64_t>() > 0)
        throw DataError(fmt::format("the model gives {} scores per image, but {} has {} classes: its head was trained "
                                    "on other data (or its weights were replaced)",
                                    !logits.defined()  ? std::string("other numbers of")
                                    : logits.dim() == 2 ? std::to_string(logits.size(1))
                                                        : std::to_string(logits.numel()),
                                    env.recipe.dataset.name(), data.num_classes()));
      const double acc = static_cast<double>(counts[0][0].item<std::int64_t>()) / static_cast<double>(split.size());
      env.ctx.metric(fmt::format("{}_accuracy", name), acc);
      (name == "train" ? env.summary.train_accuracy : name == "val" ? env.summary.val_accuracy : env.summary.test_accuracy) = acc;
      env.ctx.info("{} accuracy {:.2f}% ({} images)", name, 100 * acc, split.size());
      if (save_logits_) {
        const auto all = gather_shards(
            logits.defined() ? logits.to(torch::kCPU) : torch::zeros({0, data.num_classes()}), split.size(), world);
        if (env.lead) {
          const auto file = env.store.artifacts() / fmt::format("logits_{}.npy", name);
          io::save_npy(file, all);
          env.artifact(file);
        }
      }
    }
    env.held_features = {};  // gigabytes for a deep stack; no later stage needs them
  }

 private:
  // The logits of rows [begin, end) of a split.
  static torch::Tensor score(StageEnv& env, const std::string& name, const Split& split, ShardRange rows) {
    const auto mine = [&](const torch::Tensor& t) { return t.slice(0, rows.begin, rows.end); };
    const std::int64_t batch = env.recipe.data.eval_batch;
    const auto& held = name == "train" ? env.held_features.train : env.held_features.val;
    auto* feature_head = dynamic_cast<FeatureHead*>(&env.model.head());
    if (name != "test" && held.defined() && feature_head != nullptr) {
      env.ctx.info("{} split: scored from the features the head was trained on", name);
      return apply_batched([&](const torch::Tensor& f) { return feature_head->logits_from_features(f); }, mine(held),
                           batch);
    }
    // A deep stack takes minutes over 50,000 images: show progress per batch.
    auto progress =
        env.ctx.progress(fmt::format("{} split", name), (rows.end - rows.begin + batch - 1) / batch, "batch");
    auto logits = apply_batched(
        [&](const torch::Tensor& x) {
          auto out = env.model.logits(x);
          progress->advance();
          return out;
        },
        mine(split.images), batch);
    progress->finish();
    return logits;
  }

  std::vector<std::string> splits_;
  bool save_logits_;
};

}  // namespace

StageType evaluate_stage() {
  StageType t;
  t.name = "evaluate";
  t.summary = "accuracy on train, validation and test (summary: <split>_accuracy, test_error)";
  t.every_rank = true;  // each process scores its slice
  t.schema = {
      spec::strings("splits", {"train", "val", "test"}, "splits to evaluate (train, val, test); absent ones are skipped"),
      spec::boolean("save_logits", false, "also save each split's logits as artifacts/logits_<split>.npy"),
  };
  t.make = [](const recipe::StageUse& use) { return std::make_unique<Evaluate>(*use.params); };
  return t;
}

}  // namespace hebbkit::stages
