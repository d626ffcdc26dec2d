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

ShardRange shard_range(std::int64_t rows, const Collective& world) {
  const std::int64_t p = world.size(), r = world.rank();
  const std::int64_t base = rows / p, extra = rows % p;
  const std::int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

torch::Tensor shard(const torch::Tensor& index, const Collective& world) {
  if (world.size() == 1) return index;
  const auto range = shard_range(index.size(0), world);
  return index.slice(0, range.begin, range.end);
}

torch::Tensor gather_shards(const torch::Tensor& local, std::int64_t rows, Collective& world) {
  if (world.size() == 1) return local;
  const auto range = shard_range(rows, world);
  auto sizes = local.sizes().vec();
  sizes[0] = rows;
  // Each process's rows in their place and zeros elsewhere: the sum is every row once.
  std::vector<torch::Tensor> all = {torch::zeros(sizes, local.options())};
  all[0].slice(0, range.begin, range.end).copy_(local);
  world.all_reduce_sum(all);
  return all[0];
}

void all_reduce_gradients(const std::vector<torch::Tensor>& parameters, Collective& world, double share) {
  if (world.size() == 1) return;
  std::vector<torch::Tensor> gradients;
  for (const auto& p : parameters) {
    auto g = p.grad();
    if (!g.defined()) g = p.mutable_grad() = torch::zeros_like(p);
    g.mul_(share);
    gradients.push_back(g);
  }
  world.all_reduce_sum(gradients);
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
