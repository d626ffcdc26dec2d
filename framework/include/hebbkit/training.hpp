#pragma once
// The loops plugins share: minibatches, batched application without a graph, and the epoch
// loop of classifiers trained on fixed inputs (Forward-Forward's goodness scoring is
// goodness.hpp's).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace torch::optim {
class Optimizer;
}

#include "hebbkit/batch_source.hpp"
#include "hebbkit/optimizer.hpp"

namespace hebbkit {

class RunContext;

/// Index batches over n samples, optionally shuffled with torch's (seeded) generator:
///   for (auto& idx : minibatches(n, 100, true, device)) step(x.index_select(0, idx));
std::vector<torch::Tensor> minibatches(std::int64_t n, std::int64_t batch, bool shuffle,
                                       torch::Device device);

/// fn applied to consecutive slices of `batch` rows of x without building a graph; the
/// results concatenated along dimension 0.
torch::Tensor apply_batched(const std::function<torch::Tensor(const torch::Tensor&)>& fn, const torch::Tensor& x,
                            std::int64_t batch);

/// Throws NumericalError "<what> is nan: training diverged; <advice>" when `value` is
/// NaN or infinite. The default advice suggests the learning rate and preprocessing.
void check_finite(double value, const std::string& what, const std::string& advice = "");

/// Throws RecipeError "<key> = ...: <what> need about X GB; this machine has Y GB" when
/// `bytes` exceed the machine's physical memory, before a plugin allocates them (instead
/// of a failed allocation deep inside torch). `key` is the recipe key to change.
void check_fits_in_memory(double bytes, const std::string& key, const std::string& what);
/// The machine's physical memory in bytes (0 when unknown).
double machine_memory_bytes();

/// Fraction of rows of `logits` whose argmax equals `labels`.
double accuracy(const torch::Tensor& logits, const torch::Tensor& labels);

/// A minibatch worked out in closed form: logits (B, classes), the mean loss (a scalar) and
/// the gradient of that loss for every parameter, in the order fit_classifier got them.
struct ClosedFormStep {
  torch::Tensor logits;
  torch::Tensor loss;
  std::vector<torch::Tensor> gradients;
  /// Rows whose first argmax is the label, when the step counted them on its way (saves
  /// fit_classifier four small ops per minibatch); -1: fit_classifier counts from `logits`.
  std::int64_t correct = -1;
};

/// Softmax cross-entropy of logits (B, C) against labels (B) in one pass: the mean loss,
/// its gradient d loss / d logits = (softmax - onehot) / B, and the number of rows whose
/// first argmax is the label. A closed-form head's step is this between its two GEMMs.
/// float or double on the CPU in one loop; other devices through ATen's ops.
struct CrossEntropyStep {
  torch::Tensor loss;  ///< scalar, the logits' dtype
  torch::Tensor grad;  ///< (B, C)
  std::int64_t correct = 0;
};
CrossEntropyStep cross_entropy_step(const torch::Tensor& logits, const torch::Tensor& labels);

/// How `fit_classifier` trains: `optimizer` (Adam or SGD, its learning-rate schedule) over
/// `epochs` passes of shuffled minibatches.
struct ClassifierTraining {
  std::string label;          ///< progress label and divergence message, e.g. "softmax head"
  std::int64_t epochs = 1;
  std::int64_t batch = 100;
  OptimizerParams optimizer;
  std::string divergence_advice;  ///< appended when the loss turns NaN/Inf; "" for the default
  /// Called with true before each epoch's updates and false before evaluating, for models
  /// whose layers behave differently in training (dropout, batch norm); may be empty.
  std::function<void(bool)> train_mode;
  /// Tensors that change in training without being trained (batch-norm running
  /// statistics): checkpointed with the parameters so that a resumed run is exact.
  std::vector<torch::Tensor> buffers;
  /// Optional fast path for a head whose gradient has a short formula: (inputs, labels) ->
  /// the batch's logits, loss and gradients, without building an autograd graph (which
  /// costs more than a small head's GEMMs). The inputs are the minibatch's rows of the
  /// training set where they lie when it is held in memory (copying 100 shuffled rows
  /// together costs a quarter of such a step; narrow_linear reads them in place), else the
  /// minibatch itself. It must agree with logits_of and loss_of in training mode:
  /// fit_classifier checks it against autograd on its first minibatch (autograd first, then
  /// torch's CPU generator and `buffers` put back, so a step with dropout or batch norm
  /// draws the same mask and sees the same statistics) and throws std::logic_error when a
  /// gradient differs. Dropout off the CPU draws from another generator: no closed form there.
  std::function<ClosedFormStep(const RowSelection& inputs, const torch::Tensor& labels)> closed_form;
  /// Inputs of the training images mirrored left-right, row for row (HeadFit::mirrored_features):
  /// each minibatch row then takes its mirror's with probability 1/2, as a loader's
  /// RandomHorizontalFlip gives a classifier a fresh choice every epoch. The coins are the
  /// global minibatch's, whatever the number of processes. Undefined: the inputs as they are.
  torch::Tensor mirrored;
};

/// Adam or SGD over `parameters` with `params`' learning rate, momentum and weight decay
/// (set each epoch's rate with OptimizerParams::lr_at).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& parameters,
                                                        const OptimizerParams& params);

/// The epoch loop of a classifier on fixed inputs (a head on frozen features). Per epoch it
/// logs the metrics loss, train_accuracy, lr and (with validation inputs) val_accuracy,
/// advances a progress display, honours Ctrl-C and stops on a NaN/Inf loss. After the last
/// epoch it warns when train accuracy is near chance (a head that learnt nothing). It
/// checkpoints through ctx.epoch_finished (parameters and Adam state), so a resumed run
/// continues inside the loop.
///   logits_of(x_batch) -> (B, classes); loss_of(logits, labels) -> scalar mean loss.
void fit_classifier(const std::vector<torch::Tensor>& parameters,
                    const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of,
                    const torch::Tensor& inputs, const torch::Tensor& labels, const torch::Tensor& val_inputs,
                    const torch::Tensor& val_labels, const ClassifierTraining& training, RunContext& ctx);
/// The same loop on batch sources (a rule that trains end to end on LayerFit::inputs);
/// `val` may be nullptr. Also logs val_loss.
void fit_classifier(const std::vector<torch::Tensor>& parameters,
                    const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& loss_of,
                    BatchSource& train, BatchSource* val, const ClassifierTraining& training, RunContext& ctx);

}  // namespace hebbkit
