// train: each layer's rule fits on the frozen outputs of the layers below, then the head
// fits on the top layer's features. The model is saved to model/ after every layer and
// after the head; a resumed run skips what model/ already holds.
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "hebbkit/training.hpp"
#include "model/model_store.hpp"
#include "recipe/recipe.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {

class Train final : public Stage {
 public:
  void run(StageEnv& env) override {
    auto& ctx = env.ctx;
    auto& model = env.model;
    const auto& data = env.data;
    const std::int64_t batch = env.recipe.data.eval_batch;
    resumed_ = env.progress.preprocess_fitted;  // set only when model/ was loaded
    const auto checkpoint = [&] { model::save(model, env.recipe, env.progress, env.store.dir() / "model"); };
    if (!env.progress.preprocess_fitted) {
      model.preprocessor().fit(data.train.images);
      env.progress.preprocess_fitted = true;
    }
    const auto prepare = [&](const torch::Tensor& x) { return model.prepare(x); };
    torch::Tensor features = apply_batched(prepare, data.train.images, batch);
    torch::Tensor val_features;
    if (data.val.size() > 0) val_features = apply_batched(prepare, data.val.images, batch);

    for (std::size_t i = 0; i < model.layer_count(); ++i) {
      Rule& rule = model.layer(i);
      ctx.set_scope(fmt::format("layers.{}", i));
      if (i < env.progress.layers_trained) {
        ctx.info("trained already (model/), not trained again");
      } else {
        if (resumed_ && i == env.progress.layers_trained)
          ctx.info("this layer was not finished when the run stopped; it starts again from its beginning "
                   "(rules do not checkpoint inside a layer yet)");
        ctx.info("training with rule '{}' on inputs {}", env.recipe.layers[i].name(), fmt::join(features.sizes(), "x"));
        rule.fit(LayerFit{features, data.train.labels, val_features, data.val.labels, data.num_classes(),
                          static_cast<std::int64_t>(i)},
                 ctx);
        env.progress.layers_trained = i + 1;
        checkpoint();
      }
      // The next layer trains on this layer's outputs, computed once.
      const auto forward = [&](const torch::Tensor& x) { return rule.forward(x); };
      features = apply_batched(forward, features, batch);
      if (val_features.defined()) val_features = apply_batched(forward, val_features, batch);
    }

    ctx.set_scope("head");
    if (env.progress.head_trained) {
      ctx.info("trained already (model/), not trained again");
    } else {
      ctx.info("training head '{}' on features {}", env.recipe.head.name(), fmt::join(features.sizes(), "x"));
      model.head().fit(HeadFit{features, data.train.labels, val_features, data.val.labels, data.train.images,
                               data.val.images, model, data.num_classes()},
                       ctx);
      env.progress.head_trained = true;
      checkpoint();
    }
    ctx.set_scope("");
  }

 private:
  bool resumed_ = false;
};

}  // namespace

StageType train_stage() {
  StageType t;
  t.name = "train";
  t.summary = "fit every layer bottom-up on the frozen outputs below, then the head; saves model/";
  t.trains = true;
  t.make = [](const recipe::StageUse&) { return std::make_unique<Train>(); };
  return t;
}

}  // namespace hebbkit::stages
