#include "hebbkit/collective.hpp"

#include <algorithm>

#include "hebbkit/state.hpp"

namespace hebbkit {

Collective::~Collective() = default;

namespace {

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(std::vector<torch::Tensor>& /*tensors*/) override {}
};

}  // namespace

Collective& single_process() {
  static SingleProcess one;
  return one;
}

torch::Tensor shard(const torch::Tensor& index, const Collective& world) {
  const std::int64_t n = index.size(0), p = world.size(), r = world.rank();
  if (p == 1) return index;
  const std::int64_t base = n / p, extra = n % p;
  const std::int64_t start = r * base + std::min(r, extra);
  return index.slice(0, start, start + base + (r < extra ? 1 : 0));
}

void sync_generator(Collective& world) {
  if (world.size() == 1) return;
  // Process 0's bytes plus zeros from the others: a broadcast through the one collective.
  std::vector<torch::Tensor> state = {generator_state().to(torch::kInt32)};
  if (world.rank() != 0) state[0].zero_();
  world.all_reduce_sum(state);
  set_generator_state(state[0].to(torch::kUInt8));
}

}  // namespace hebbkit
