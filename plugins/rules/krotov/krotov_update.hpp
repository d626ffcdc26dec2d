#pragma once
// The Krotov-Hopfield update ("Unsupervised learning by competing hidden units", PNAS
// 2019), in two forms: the fast one the rule trains with, and a plain dense transcription
// of the formulas that tests compare it against.
//
// For weights W (hidden x inputs) and a minibatch V (inputs x batch):
//   I  = (sign(W) * |W|^(p-1)) V
//   g  = 1 for each sample's strongest unit, -delta for its k-th strongest, else 0
//   xx = sum_b g[u,b] I[u,b];  ds = g V^T - xx[:,None] * W
//   W += eps * ds / max(max|ds|, prec)
// With homeostasis > 0 the ranking (not I) uses I - theta, a per-unit threshold that rises
// by `homeostasis` for every win and falls by the same times the fair share batch/hidden
// per minibatch, so units that never win are lowered until they do (a "conscience").
#include <cstdint>

#include <torch/types.h>

#include "hebbkit/collective.hpp"

namespace hebbkit::krotov {

struct Hyper {
  double p = 3.0;       ///< Lebesgue power, >= 2
  std::int64_t k = 2;   ///< rank of the anti-Hebbian unit, 2..hidden
  double delta = 0.4;   ///< strength of anti-Hebbian learning
  double prec = 1e-30;  ///< floor of the update's normaliser
  double homeostasis = 0.0;  ///< threshold change per win beyond a fair share; 0: the published rule
};

/// Each sample's strongest and k-th strongest unit and their currents.
struct Ranked {
  torch::Tensor winner, kth;                  ///< (batch) unit indices
  torch::Tensor winner_current, kth_current;  ///< (batch) their currents
};

/// Ranks the units of each row of `currents` (batch, hidden). Ties go to the lower unit
/// index, as in a stable sort. On CPU a vectorised max over interleaved stripes of units
/// picks the few stripes that can hold the k best, then only those are scanned; other
/// devices use topk.
Ranked rank_units(const torch::Tensor& currents, std::int64_t k);

/// rank_units(x wp^T, k) without the currents in one piece: on CPU each thread multiplies
/// its block of units by x and ranks that block while it is still in its cache, then the
/// blocks' k best are merged (one parallel region instead of a threaded GEMM and a threaded
/// ranking, and no currents read from another core's cache).
Ranked currents_ranked(const torch::Tensor& x, const torch::Tensor& wp, std::int64_t k);

/// sign(W) * |W|^(p-1), the matrix the currents are computed with.
torch::Tensor powered(const torch::Tensor& w, double p);

/// The weights and the cached sign(W)|W|^(p-1). step() does one GEMM for the currents,
/// then touches only the rows that won or came k-th in the batch (at most 2 x batch):
/// the update, its max-norm and the cached powers are all computed on those rows.
class Synapses {
 public:
  Synapses(torch::Tensor weights, Hyper hyper);
  /// Continues from a checkpoint: the cached powers are taken as saved, not recomputed,
  /// because they were updated row by row and must match bit for bit.
  Synapses(torch::Tensor weights, torch::Tensor powered_weights, Hyper hyper);
  /// Homeostatic thresholds to continue from (a checkpoint's); zeros when not set.
  void set_thresholds(torch::Tensor thresholds) { theta_ = std::move(thresholds); }
  /// One update on a minibatch `x` shaped (batch, inputs). Returns the number of units touched.
  /// In a data-parallel run every process passes the whole minibatch: each ranks its
  /// shard's samples (the GEMM, nearly all the work), the rankings are gathered, and every
  /// process makes the same whole update, the one a single process would.
  std::int64_t step(const torch::Tensor& x, double eps, Collective& world = single_process());
  const torch::Tensor& weights() const { return w_; }
  const torch::Tensor& powered_weights() const { return wp_; }
  /// Per-unit ranking thresholds (hidden); undefined until a step with homeostasis > 0.
  const torch::Tensor& thresholds() const { return theta_; }
  /// |sum_i |W_ui|^p - 1| per unit: how far each unit is from its fixed point (0).
  torch::Tensor norm_error() const;
  /// Dale's law: clamps every weight to the sign of its input (see constrain_to_signs) and
  /// refreshes the cached powers.
  void constrain_signs(const torch::Tensor& input_signs);

 private:
  /// Each sample's two units: by currents, or by currents - thresholds (returning the
  /// units' own currents).
  Ranked rank(const torch::Tensor& x);
  /// rank() of this process's shard of `x`, the shards' rankings gathered.
  Ranked rank_sharded(const torch::Tensor& x, Collective& world);
  /// The thresholds after a minibatch of `batch` samples ranked as `ranked`.
  void count_wins(const Ranked& ranked, std::int64_t batch);

  torch::Tensor w_, wp_;
  torch::Tensor theta_;  ///< homeostatic thresholds
  torch::Tensor scratch_;  ///< the CPU update's blocks of ds, kept: a fresh buffer per step costs page faults
  Hyper hyper_;
};

/// Dale's law on a layer's inputs: a random `inhibitory` fraction of `inputs` (chosen with
/// torch's seeded generator) gets sign -1, the rest +1.
torch::Tensor dale_signs(std::int64_t inputs, double inhibitory, const torch::TensorOptions& options);
/// w (units x inputs), in place: entries of inputs with sign +1 clamped to >= 0, of -1 to <= 0.
void constrain_to_signs(torch::Tensor& w, const torch::Tensor& input_signs);

/// The formulas above, transcribed literally with a dense g and a full sort. Slow; the
/// reference the fast path is tested against. Updates `w` in place.
/// With homeostasis, `theta` (hidden) is the thresholds, also updated in place.
void dense_reference_step(torch::Tensor& w, const torch::Tensor& x, const Hyper& hyper, double eps,
                          torch::Tensor* theta = nullptr);

}  // namespace hebbkit::krotov
