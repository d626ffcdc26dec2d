#pragma once
// A layer's training inputs, read batch by batch. The host either holds them in memory
// (precomputed outputs of the frozen layers below) or computes each batch through those
// layers when the whole set would not fit its memory budget; a rule reads both the same way.
#include "hebbkit/export.hpp"
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

namespace hebbkit {

/// One minibatch: the inputs of the rows `index`, and their labels.
struct Batch {
  torch::Tensor inputs;  ///< (B, ...) float, on the run's device
  torch::Tensor labels;  ///< (B) int64
  torch::Tensor index;   ///< (B) int64 row numbers in the source
};

/// Rows `index` of `source` where they lie, not yet copied together (index undefined: every
/// row of source), for loops that read a minibatch's rows in place.
struct HEBBKIT_API RowSelection {
  torch::Tensor source;  ///< (N, ...)
  torch::Tensor index;   ///< (B) int64 row numbers, or undefined
  /// Rows selected: B, or N without an index.
  std::int64_t size() const;
  /// The rows copied into one tensor (source itself without an index).
  torch::Tensor gathered() const;
};

class HEBBKIT_API BatchSource {
 public:
  virtual ~BatchSource();
  /// Number of rows.
  virtual std::int64_t size() const = 0;
  /// Shape of one row's input, e.g. {784} or {96, 16, 16}.
  virtual std::vector<std::int64_t> sample_shape() const = 0;
  /// All labels (N) int64.
  virtual const torch::Tensor& labels() const = 0;
  /// The inputs of rows `index` (int64), without a graph.
  virtual torch::Tensor rows(const torch::Tensor& index) = 0;
  /// True when the inputs are held in memory; false when each batch is computed.
  virtual bool precomputed() const = 0;

  /// Every row at once: the held tensor itself when precomputed, otherwise computed in
  /// batches (then the whole set must fit in memory). For rules that need the full set.
  virtual torch::Tensor all() = 0;

  /// One pass over the rows in minibatches of `batch`, shuffled with torch's seeded
  /// generator when `shuffle` (so a fixed seed gives a fixed order, and a resumed run
  /// the order it would have had). fn may throw to stop, e.g. on Ctrl-C.
  void for_each_batch(std::int64_t batch, bool shuffle, const std::function<void(const Batch&)>& fn);
};

/// A source over a tensor held in memory: what the host gives when inputs fit its
/// budget, and what tests and rules that train inner layers build themselves.
class HEBBKIT_API TensorSource final : public BatchSource {
 public:
  TensorSource(torch::Tensor inputs, torch::Tensor labels);
  std::int64_t size() const override { return inputs_.size(0); }
  std::vector<std::int64_t> sample_shape() const override;
  const torch::Tensor& labels() const override { return labels_; }
  torch::Tensor rows(const torch::Tensor& index) override { return inputs_.index_select(0, index); }
  bool precomputed() const override { return true; }
  torch::Tensor all() override { return inputs_; }

 private:
  torch::Tensor inputs_, labels_;
};

}  // namespace hebbkit
