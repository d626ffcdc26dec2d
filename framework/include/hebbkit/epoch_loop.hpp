#pragma once
// The one epoch loop every trained plugin runs (the classifiers' fit_classifier, the Krotov
// family, SoftHebb, Forward-Forward): the plugin supplies an epoch's work, the loop owns the
// rest — the progress bar (fast-forwarded past the epochs a resumed run finished), the
// learning rate of each epoch, the NaN/Inf check, Ctrl-C, and checkpoints. A resumed run
// makes the same calls in the same order from its first unfinished epoch, so it gives the
// numbers the uninterrupted run would.
//
//   std::int64_t first = 0;
//   if (auto resume = ctx.resume_point()) { load_state(resume->tensors); first = resume->epochs_done; }
//   hebbkit::EpochLoop loop{"my rule", epochs, first};
//   loop.epoch_step = [&](std::int64_t epoch, hebbkit::Progress&) {
//     hebbkit::Meter loss;
//     source.for_each_batch(batch, true, [&](const hebbkit::Batch& b) { loss.add(step(b), b.index.size(0)); });
//     ctx.metric("loss", loss.mean(), epoch);
//     return hebbkit::EpochResult{"loss", loss.mean()};
//   };
//   loop.checkpoint = [&] { return state(); };
//   hebbkit::run_epochs(loop, ctx);
#include "hebbkit/export.hpp"
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hebbkit/batch_source.hpp"
#include "hebbkit/state.hpp"

namespace torch::optim {
class Optimizer;
}

namespace hebbkit {

class Progress;
class RunContext;

/// What an epoch reports to the loop: the number beside the progress bar, which the loop
/// also checks for NaN/Inf.
struct EpochResult {
  std::string name = "loss";  ///< e.g. "loss"
  double value = 0;
  /// The divergence message's subject, e.g. "softmax head loss"; "" gives "<label> <name>".
  std::string what;
};

struct EpochLoop {
  std::string label;                 ///< the progress bar's, e.g. "softmax head"
  std::int64_t epochs = 1;
  std::int64_t first_epoch = 0;      ///< epochs a resumed run finished (TrainingCheckpoint::epochs_done)
  /// Optional: the loop walks `source` each epoch in minibatches of `batch` (reshuffled when
  /// `shuffle`), handing each to batch_step and honouring Ctrl-C between them, before
  /// epoch_step. Plugins that walk other things (paired index batches, rows in place) leave
  /// it empty and walk them in epoch_step.
  BatchSource* source = nullptr;
  std::int64_t batch = 100;
  bool shuffle = true;
  /// In a data-parallel run (ctx.collective(), collective.hpp) each process's batch_step
  /// gets its shard of every global minibatch (empty when the minibatch has fewer rows than
  /// there are processes) and sums what it reduces. True: every
  /// process gets each whole minibatch and splits the work itself (the Krotov rule ranks
  /// its shard's samples and gathers the rankings, then makes the whole update).
  bool whole_batches = false;
  std::function<void(std::int64_t epoch, const Batch& batch)> batch_step;
  /// Epoch `epoch` (from 0): its work (or, with a source, its sums after the batches) and
  /// metrics. Long epochs call ctx.check_interrupted().
  std::function<EpochResult(std::int64_t epoch, Progress& progress)> epoch_step;
  /// What resuming needs, saved after an epoch when the host's interval has passed
  /// (RunContext::epoch_finished); empty: the loop is not checkpointed.
  std::function<std::vector<NamedTensor>()> checkpoint;
  /// Added to the epochs done that checkpoints record: for a rule that runs several loops
  /// one after another (Forward-Forward's greedy layers) and counts its epochs across them.
  std::int64_t checkpoint_base = 0;
  /// Optional: the learning rate of each epoch, set into every group of `optimizers` before it.
  std::function<double(std::int64_t epoch)> lr_at;
  std::vector<torch::optim::Optimizer*> optimizers;
  std::string divergence_advice;  ///< appended to the NaN/Inf message; "" for check_finite's default
};

/// Runs epochs first_epoch .. epochs-1 of `loop` (see the header's comment).
HEBBKIT_API void run_epochs(const EpochLoop& loop, RunContext& ctx);

/// A weighted mean of per-batch numbers, e.g. a loss weighted by the batch's size.
class Meter {
 public:
  void add(double value, double weight = 1.0) {
    sum_ += value * weight;
    weight_ += weight;
  }
  double sum() const { return sum_; }
  double weight() const { return weight_; }
  double mean() const { return weight_ > 0 ? sum_ / weight_ : 0.0; }

 private:
  double sum_ = 0, weight_ = 0;
};

}  // namespace hebbkit
