#pragma once
// Forward-Forward's layer objective (Hinton 2022): the goodness, the layer-local loss with
// optional peer normalisation, the hand-written step that trains one layer on a batch of
// positives and negatives, and the fast activities scoring runs on.
#include <cstdint>
#include <functional>

#include <torch/nn/modules/linear.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <hebbkit/collective.hpp>

namespace hebbkit::ff {

/// x / (|x| + 1e-6) per row: only the direction of the layer below passes on.
torch::Tensor direction(const torch::Tensor& x);

/// Mean of squared activities per row.
torch::Tensor goodness(const torch::Tensor& activities);

/// mean over both sets of softplus(theta - g_pos) and softplus(g_neg - theta).
torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, double theta);

struct StepResult {
  double loss = 0;          ///< mean loss of the batch (the goodness part)
  double goodness_pos = 0;  ///< summed over the batch's positive samples
  double goodness_neg = 0;
  double peer_loss = 0;     ///< the peer normalisation term before its weight (0 when off)
};

/// What one layer's local loss is made of. The defaults are Hinton's: mean-square
/// goodness around theta, unit-length inputs. {sum_goodness, input_scale sqrt(D),
/// peer_weight 0.03, full_relu_grad} is the public PyTorch reimplementation's (Loewe):
/// goodness sum(a^2) against theta * width, RMS-normalised inputs, and a peer
/// normalisation term that pulls each unit's running mean activity on positive data
/// towards the layer's average, passed through the ReLU so that dead units revive.
struct LayerObjective {
  double theta = 2.0;
  bool sum_goodness = false;    ///< goodness sum(a^2), threshold theta * width
  double input_scale = 1.0;     ///< inputs enter as direction(x) * input_scale
  double peer_weight = 0.0;
  double peer_momentum = 0.9;   ///< of the running mean activity
  bool full_relu_grad = false;  ///< the ReLU's gradient passes everywhere (straight through)
};

/// One optimizer step of one layer on `x`: the batch's positive rows first (`positives`
/// of them), then its negative rows, as the layer below gave them. The layer sees their
/// directions (as `direction`), applied as a per-row scale of the product rather than as a
/// normalised copy of the inputs. The loss depends on each row only through its goodness,
/// so the gradient is written out by hand: one product forward, one for the weights, no
/// autograd graph. Leaves the gradients in the layer's parameters and steps `optimizer`.
StepResult train_step(torch::nn::Linear& layer, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      std::int64_t positives, double theta);

/// A data-parallel process's part of a global minibatch: x holds its shard of the positive
/// rows and the same shard of the negative rows, of `global_positives` each in all.
struct Shard {
  Collective& world;
  std::int64_t global_positives = 0;
};

/// The same step for any LayerObjective. `running_mean` (width, the unit's running mean
/// activity on positives) is read and updated when the objective has peer normalisation.
/// When `activity` is given it receives the layer's output for x before the step (what the
/// layer above trains on in the same minibatch when all layers learn at once). With a
/// `shard`, the gradients, the positives' mean activity and the StepResult's sums are the
/// global minibatch's (all-reduced), so every process steps as one process would.
StepResult train_step(torch::nn::Linear& layer, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      std::int64_t positives, const LayerObjective& objective, torch::Tensor* running_mean,
                      torch::Tensor* activity = nullptr, const Shard* shard = nullptr);

/// A layer's activity in scoring with its rows' sums of squares: its goodness and the next
/// layer's input normalisation both need them, and they come free with the activity.
struct Activity {
  torch::Tensor value;         ///< (N, width)
  torch::Tensor squared_norm;  ///< (N): value.pow(2).sum(1); may be undefined on an input to activity()
};
/// The bottom layer's activity relu(W direction(overlay(x, c)) + b) for every label c,
/// handed to `each(c, activity)` in label order; x: (N, D) rows, overlay as overlay_label.
/// Overlaid rows differ only in their first num_classes features and all have the same
/// norm, so the product is computed once on the other features and label c adds
/// (overlay value / norm) times column c of W: one product for all labels instead of one
/// per label. Differentiable in x; outside autograd on the CPU, each label's activity and
/// its squares are one pass over the shared product.
void first_layer_overlaid(torch::nn::Linear& layer, const torch::Tensor& x, std::int64_t num_classes,
                          const std::function<void(std::int64_t, Activity)>& each, double input_scale = 1.0);
/// relu(W direction(x) input_scale + b), a layer's activity, with the normalisation as a row
/// scale of the product (from x's squared norms: no normalised copy of x) and, outside
/// autograd on the CPU, scale, bias, ReLU and squares in one pass over the product: what
/// scoring runs above the first layer, label after label. Equal to the plain form to float
/// rounding.
Activity activity(torch::nn::Linear& layer, const Activity& x, double input_scale = 1.0);
/// The same for a bare input (its squared norms computed only where the one pass needs them).
torch::Tensor activity(torch::nn::Linear& layer, const torch::Tensor& x, double input_scale = 1.0);
/// out = [positive rows `index`; negative rows `index`], the batch train_step takes, gathered
/// straight into `out` (resized as needed) without an intermediate copy.
void gather_batch(const torch::Tensor& positive, const torch::Tensor& negative, const torch::Tensor& index,
                  torch::Tensor& out);

}  // namespace hebbkit::ff
