// train: each layer's rule fits on the frozen outputs of the layers below, then the head
// fits on the top layer's features. The model is saved to model/ after every layer and
// after the head, and part-way through a layer or the head every `checkpoint_seconds`
// (for rules that support it); a resumed run continues from what model/ holds.
//
// Layer inputs are held in memory while they fit `inputs_memory_gib`; beyond it each
// batch is computed from the last inputs held, through the frozen layers since.
#include <chrono>

#include <fmt/ranges.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/training.hpp"
#include "model/model_store.hpp"
#include "recipe/recipe.hpp"
#include "stages/layer_inputs.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Checkpoints inside the part in training, at most every `interval` seconds.
class PartCheckpoints final : public run::CheckpointSink {
 public:
  // `write`: false on the processes of a data-parallel run other than rank 0.
  PartCheckpoints(fs::path folder, double interval, bool write, run::HostContext& ctx)
      : folder_(std::move(folder)), interval_(interval), write_(write), ctx_(ctx) {}

  void begin(std::string part, std::optional<model::PartialCheckpoint> pending) {
    part_ = std::move(part);
    pending_ = std::move(pending);
    last_ = Clock::now();
  }
  bool pending() const { return pending_.has_value(); }

  std::optional<TrainingCheckpoint> resume_point() override {
    if (!pending_) return std::nullopt;
    set_generator_state(pending_->generator_state);
    ctx_.info("continuing from the checkpoint in model/ taken after epoch {}", pending_->checkpoint.epochs_done);
    auto out = std::move(pending_->checkpoint);
    pending_.reset();
    return out;
  }

  void epoch_finished(std::int64_t epochs_done, const std::function<std::vector<NamedTensor>()>& state) override {
    if (!write_ || std::chrono::duration<double>(Clock::now() - last_).count() < interval_) return;
    model::save_partial(folder_, part_, TrainingCheckpoint{epochs_done, state()});
    last_ = Clock::now();
  }

 private:
  fs::path folder_;
  double interval_;
  bool write_;
  run::HostContext& ctx_;
  std::string part_;
  std::optional<model::PartialCheckpoint> pending_;
  Clock::time_point last_;
};

// A data-parallel part's communication, for the scaling figures (scripts/data-parallel-scaling).
void log_traffic(run::HostContext& ctx, const parallel::Traffic& before) {
  if (ctx.collective().size() == 1) return;
  const auto now = ctx.traffic();
  const auto calls = now.calls - before.calls;
  const double bytes = now.bytes - before.bytes;
  ctx.info("all-reduced: {} calls, {:.3f} MB, {:.0f} bytes per call, {:.2f} s in them", calls, bytes / 1e6,
           calls > 0 ? bytes / static_cast<double>(calls) : 0.0, now.seconds - before.seconds);
}

class Train final : public Stage {
 public:
  explicit Train(const Params& p)
      : checkpoint_seconds_(p.real("checkpoint_seconds")), mode_(inputs_mode(p.string("layer_inputs"))),
        budget_bytes_(p.real("inputs_memory_gib") * 1024.0 * 1024.0 * 1024.0) {}

  void run(StageEnv& env) override {
    auto& ctx = env.ctx;
    auto& model = env.model;
    const auto& data = env.data;
    const std::int64_t batch = env.recipe.data.eval_batch;
    const fs::path& folder = env.model_dir;
    // Set only when this run's own model/ was loaded; `reuse:` loads another run's layers.
    const bool resumed = env.progress.preprocess_fitted && env.progress.reused_from.empty();
    std::optional<model::PartialCheckpoint> partial;
    if (resumed) partial = model::load_partial(folder, ctx.device());
    PartCheckpoints checkpoints(folder, checkpoint_seconds_, env.lead, ctx);
    ctx.set_checkpoints(&checkpoints);
    struct Detach {
      run::HostContext& ctx;
      ~Detach() { ctx.set_checkpoints(nullptr); }
    } detach{ctx};
    // The checkpoint of `part`, if model/ holds one for it.
    const auto partial_for = [&](const std::string& part) {
      return partial && partial->part == part ? partial : std::nullopt;
    };
    const auto save = [&] {
      if (env.lead) model::save(model, env.recipe, env.progress, folder);
    };
    const auto finished = [&] {
      save();
      if (env.lead) model::remove_partial_files(folder);
    };

    if (!env.progress.preprocess_fitted) {
      model.preprocessor().fit(data.train.images);
      env.progress.preprocess_fitted = true;
      save();  // so that a resume finds checkpoints in layer 0
    } else if (!resumed) {
      save();  // the reused layers: a resume needs no other run
    }
    const auto prepare = [&](const torch::Tensor& x) { return model.prepare(x); };
    // The last layer inputs held in memory, and the frozen layers above them.
    torch::Tensor base = apply_batched(prepare, data.train.images, batch);
    torch::Tensor val_base;
    if (data.val.size() > 0) val_base = apply_batched(prepare, data.val.images, batch);
    std::vector<Rule*> frozen;
    std::size_t held = 0;  // base holds the inputs of this layer; frozen = layers held..i-1

    for (std::size_t i = 0; i < model.layer_count(); ++i) {
      Rule& rule = model.layer(i);
      const std::string part = fmt::format("layers.{}", i);
      ctx.set_scope(part);
      if (i < env.progress.layers_trained) {
        if (env.progress.reused_from.empty())
          ctx.info("trained already (model/), not trained again");
        else
          ctx.info("trained by {} (reuse), not trained again", env.progress.reused_from.string());
      } else {
        auto inputs = source(base, data.train.labels, frozen, batch);
        std::unique_ptr<BatchSource> val;
        if (val_base.defined()) val = source(val_base, data.val.labels, frozen, batch);
        checkpoints.begin(part, partial_for(part));
        if (resumed && i == env.progress.layers_trained && !checkpoints.pending())
          ctx.info("no checkpoint inside this layer (rule '{}' writes none, or the run stopped before its first, "
                   "taken every train.checkpoint_seconds = {}); it starts again from its beginning",
                   env.recipe.layers[i].name(), checkpoint_seconds_);
        ctx.info("training with rule '{}' on inputs {}x{} ({})", env.recipe.layers[i].name(), inputs->size(),
                 fmt::join(inputs->sample_shape(), "x"), inputs->precomputed() ? "in memory" : "computed per batch");
        const auto before = ctx.traffic();
        rule.fit(LayerFit{*inputs, val.get(), data.num_classes(), static_cast<std::int64_t>(i)}, ctx);
        log_traffic(ctx, before);
        if (checkpoints.pending())
          ctx.warn("rule '{}' did not read back the checkpoint it wrote (it never called resume_point()); the layer "
                   "was trained from its beginning", env.recipe.layers[i].name());
        env.progress.layers_trained = i + 1;
        finished();
      }
      frozen.push_back(&rule);
      if (i + 1 < model.layer_count() &&
          hold_or_stream(ctx, data, base, val_base, frozen, held, batch))
        held = i + 1;
    }

    ctx.set_scope("head");
    if (env.progress.head_trained) {
      ctx.info("trained already (model/), not trained again");
    } else {
      // Heads train on tensors: the top features are computed in full here.
      // With no layer above the held inputs (a head on pixels), all() is the held tensor, not a copy.
      const auto features = source(base, data.train.labels, frozen, batch)->all();
      torch::Tensor val_features;
      if (val_base.defined()) val_features = source(val_base, data.val.labels, frozen, batch)->all();
      torch::Tensor mirrored;
      if (model.head().wants_mirrored_features()) {
        ctx.info("computing the features of the training images mirrored left-right, for the head's random flips");
        std::vector<Rule*> stack;
        for (std::size_t i = 0; i < model.layer_count(); ++i) stack.push_back(&model.layer(i));
        const auto flipped = apply_batched(prepare, data.train.images.flip({3}), batch);
        mirrored = source(flipped, data.train.labels, stack, batch)->all();
      }
      checkpoints.begin("head", partial_for("head"));
      ctx.info("training head '{}' on features {}", env.recipe.head.name(), fmt::join(features.sizes(), "x"));
      const auto before = ctx.traffic();
      model.head().fit(HeadFit{features, data.train.labels, val_features, data.val.labels, data.train.images,
                               data.val.images, model, data.num_classes(), mirrored},
                       ctx);
      log_traffic(ctx, before);
      if (dynamic_cast<FeatureHead*>(&model.head()) != nullptr) env.held_features = {features, val_features};
      env.progress.head_trained = true;
      finished();
    }
    ctx.set_scope("");
  }

 private:
  static std::unique_ptr<BatchSource> source(const torch::Tensor& base, const torch::Tensor& labels,
                                             const std::vector<Rule*>& frozen, std::int64_t batch) {
    if (frozen.empty()) return std::make_unique<TensorSource>(base, labels);
    return std::make_unique<StreamedSource>(base, labels, frozen, batch);
  }

  // After a layer: compute the next layer's inputs once and hold them (true; the frozen
  // list empties), unless they exceed the budget; then each batch passes through `frozen`.
  bool hold_or_stream(run::HostContext& ctx, const pipeline::PreparedData& data, torch::Tensor& base,
                      torch::Tensor& val_base, std::vector<Rule*>& frozen, std::size_t held, std::int64_t batch) const {
    StreamedSource next(base, data.train.labels, frozen, batch);
    const double bytes = bytes_of(base.size(0), next.sample_shape());
    const bool hold = mode_ == InputsMode::Memory || (mode_ == InputsMode::Auto && bytes <= budget_bytes_);
    if (!hold) {
      ctx.info("the next layer's inputs ({}x{}, {:.2f} GiB) {}: each batch is computed from layer {}'s inputs "
               "through layers {}..{}",
               base.size(0), fmt::join(next.sample_shape(), "x"), bytes / (1 << 30),
               mode_ == InputsMode::Stream
                   ? std::string("are streamed (layer_inputs: stream)")
                   : fmt::format("exceed train.inputs_memory_gib = {:.2f}", budget_bytes_ / (1 << 30)),
               held, held, held + frozen.size() - 1);
      return false;
    }
    base = next.all();
    if (val_base.defined()) val_base = StreamedSource(val_base, data.val.labels, frozen, batch).all();
    frozen.clear();
    return true;
  }

  double checkpoint_seconds_;
  InputsMode mode_;
  double budget_bytes_;
};

}  // namespace

StageType train_stage() {
  StageType t;
  t.name = "train";
  t.summary = "fit every layer bottom-up on the frozen outputs below, then the head; saves model/";
  t.trains = true;
  t.every_rank = true;
  t.schema = {
      spec::real("checkpoint_seconds", 60, "checkpoint inside a layer or the head at most this often (0: every epoch)")
          .at_least(0),
      spec::choice("layer_inputs", "auto", {"auto", "memory", "stream"},
                    "hold each layer's inputs in memory, compute them batch by batch through the frozen layers "
                    "below, or choose by size (auto: memory while they fit inputs_memory_gib)"),
      spec::real("inputs_memory_gib", 2.0, "auto holds a layer's inputs in memory up to this size").at_least(0),
  };
  t.make = [](const recipe::StageUse& use) { return std::make_unique<Train>(*use.params); };
  return t;
}

}  // namespace hebbkit::stages
