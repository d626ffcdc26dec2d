#pragma once
// The processes of a data-parallel run joined through torch's c10d and Gloo: c10d's
// TCPStore for the rendezvous (held by rank 0), Gloo's TCP pairs and ring all-reduce for
// the collectives, run by the calling thread; c10d's NCCL for tensors on GPUs where
// LibTorch has it (nccl_reduce.hpp). No transport of hebbkit's own.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hebbkit/collective.hpp"

namespace hebbkit::parallel {

/// Where a process stands in its run, and where the store is.
struct World {
  int rank = 0;
  int size = 1;
  std::string address = "127.0.0.1";  ///< rank 0's host
  std::uint16_t port = 0;             ///< the store's; 0 on rank 0: a free one
  std::string own_host;               ///< where this process listens for its peers; "": `address`
  /// How long a rendezvous or an all-reduce waits for a process before failing.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  /// The run's tensors live on a GPU: NCCL reduces them where LibTorch has it.
  bool cuda = false;
};

/// What a process sent through its all-reduces: the scaling figures (performance.md).
struct Traffic {
  std::int64_t calls = 0;  ///< collectives (one per dtype of an all_reduce_sum)
  double bytes = 0;        ///< of the buffers reduced
  double seconds = 0;      ///< spent in them, waiting for the slowest process included
};

/// A Collective over c10d's Gloo (and NCCL for CUDA tensors) that counts its traffic.
class GlooCollective : public Collective {
 public:
  virtual Traffic traffic() const = 0;
  /// "gloo"; with World::cuda "nccl", or Gloo and why not NCCL.
  virtual std::string backend() const = 0;
  /// Each rank's host, in rank order.
  virtual std::vector<std::string> hosts() const = 0;
  /// Every process states `facts` (name, value: the hebbkit build, the recipe's digest, each
  /// plugin's); throws RecipeError on every process when one's differ from another's, naming
  /// the ranks and the first fact that differs, so that mismatched processes never train.
  virtual void agree(const std::vector<std::pair<std::string, std::string>>& facts) = 0;
};

/// Joins the world: rank 0 opens the store (then `listening(port)` is called, so that the
/// others can be told where), every rank connects and waits until all `size` have. Throws
/// DataError naming the address and the missing ranks when they do not come in time.
std::unique_ptr<GlooCollective> join_gloo(const World& world, const std::function<void(std::uint16_t)>& listening = {});

}  // namespace hebbkit::parallel
