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

/// This process's rows of a global minibatch `index`: a contiguous slice, the first
/// (size % processes) processes one row more. Ranks that agree on `index` cover it exactly.
HEBBKIT_API torch::Tensor shard(const torch::Tensor& index, const Collective& world);

/// Every process's torch CPU generator set to process 0's: after steps that drew as many
/// numbers as a process had rows (dropout masks), the next shuffle is the same everywhere.
HEBBKIT_API void sync_generator(Collective& world);

}  // namespace hebbkit
