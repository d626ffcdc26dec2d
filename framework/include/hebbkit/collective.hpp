#pragma once
// The processes of a data-parallel run as a plugin's loops see them. Every process holds the
// whole model and draws the same random numbers from the same seed; each works on its slice
// of every global minibatch, and what the loops sum over a batch is summed over the
// processes in one all-reduce per step. A run of one process has size() 1 and reduces
// nothing. The SDK's loops (fit_classifier) do this themselves: a rule that trains through
// them is data-parallel without a line of communication code.
#include "hebbkit/export.hpp"
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace hebbkit {

class HEBBKIT_API Collective {
 public:
  virtual ~Collective();
  /// This process's place, 0 .. size() - 1.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Sums each tensor element-wise over all processes, in place; every process calls it
  /// with tensors of the same shapes in the same order. Throws DataError naming the peer
  /// when one does not answer in time.
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
};

/// This process alone: rank 0 of 1, all_reduce_sum leaves the tensors as they are.
HEBBKIT_API Collective& single_process();

/// Rows [begin, end) of a global minibatch of `rows`: a contiguous slice, the first
/// (rows % processes) processes one row more. The ranks' ranges cover the rows exactly.
struct ShardRange {
  std::int64_t begin = 0, end = 0;
};
HEBBKIT_API ShardRange shard_range(std::int64_t rows, const Collective& world);

/// This process's rows of a global minibatch `index` (its shard_range).
HEBBKIT_API torch::Tensor shard(const torch::Tensor& index, const Collective& world);

/// The rows every process computed for its shard of a global minibatch of `rows`, put
/// together in order: `local` holds this process's shard_range rows, the result all of
/// them, on every process. For small results (a minibatch's rankings), not for inputs.
HEBBKIT_API torch::Tensor gather_shards(const torch::Tensor& local, std::int64_t rows, Collective& world);

/// A gradient step's reduction: each parameter's gradient (zeros where it has none) times
/// `share` — this process's rows over the global minibatch's, when the loss is a mean over
/// rows — summed over the processes in one all-reduce, so that every process steps with the
/// global minibatch's gradient. Alone: nothing.
HEBBKIT_API void all_reduce_gradients(const std::vector<torch::Tensor>& parameters, Collective& world, double share);

/// Every process's torch CPU generator set to process 0's: after steps that drew as many
/// numbers as a process had rows (dropout masks), the next shuffle is the same everywhere.
HEBBKIT_API void sync_generator(Collective& world);

}  // namespace hebbkit
