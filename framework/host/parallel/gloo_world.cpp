#include "parallel/gloo_world.hpp"

#include <chrono>
#include <map>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "hebbkit/errors.hpp"

namespace hebbkit::parallel {

namespace {

class GlooGroup final : public GlooCollective {
 public:
  GlooGroup(const World& world, c10::intrusive_ptr<c10d::TCPStore> store,
                 c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
      : world_(world), store_(std::move(store)), group_(std::move(group)) {}

  int rank() const override { return world_.rank; }
  int size() const override { return world_.size; }

  // One collective per dtype: the tensors are packed into one buffer and unpacked after.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    std::map<c10::ScalarType, std::vector<torch::Tensor*>> by_type;
    for (auto& t : tensors) by_type[t.scalar_type()].push_back(&t);
    for (auto& [type, group] : by_type) {
      std::vector<torch::Tensor> flat;
      for (const auto* t : group) flat.push_back(t->detach().reshape({-1}).to(torch::kCPU));
      std::vector<torch::Tensor> buffer = {torch::cat(flat)};
      // A peer that died resets its connection (Gloo's IoException); one that hangs runs
      // into the timeout (c10::Error). Either way this process must not wait for ever.
      const auto started = std::chrono::steady_clock::now();
      try {
        group_->allreduce(buffer)->wait(world_.timeout);
      } catch (const c10::Error& e) {
        throw peer_lost(e.what_without_backtrace());
      } catch (const std::exception& e) {
        throw peer_lost(e.what());
      }
      traffic_.calls += 1;
      traffic_.bytes += static_cast<double>(buffer[0].numel() * buffer[0].element_size());
      traffic_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::int64_t offset = 0;
      for (auto* t : group) {
        const auto n = t->numel();
        t->copy_(buffer[0].slice(0, offset, offset + n).view(t->sizes()));
        offset += n;
      }
    }
  }

  Traffic traffic() const override { return traffic_; }

 private:
  DataError peer_lost(const std::string& why) const {
    return DataError(fmt::format("rank {} of {}: an all-reduce did not complete (waiting at most {} s): a process of "
                                 "the run stopped or hangs ({})",
                                 world_.rank, world_.size, world_.timeout.count() / 1000.0, why));
  }

  World world_;
  Traffic traffic_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

std::unique_ptr<GlooCollective> join_gloo(const World& world, const std::function<void(std::uint16_t)>& listening) {
  if (world.size < 1 || world.rank < 0 || world.rank >= world.size)
    throw RecipeError(fmt::format("rank {} of a world of {} processes does not exist", world.rank, world.size));
  c10d::TCPStoreOptions options;
  options.port = world.port;
  options.isServer = world.rank == 0;
  options.numWorkers = static_cast<std::size_t>(world.size);
  options.waitWorkers = false;  // the others learn the port from `listening` first
  options.timeout = world.timeout;
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(world.address, options);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("rank {}: cannot {} the rendezvous store at {}:{}: {}", world.rank,
                                world.rank == 0 ? "open" : "reach", world.address, world.port,
                                e.what_without_backtrace()));
  }
  if (world.rank == 0 && listening) listening(store->getPort());
  auto group_options = c10d::ProcessGroupGloo::Options::create(world.timeout);
  group_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(world.address));
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  try {
    group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.size, group_options);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("rank {} of {}: the processes did not all join at {}:{} within {} s: {}", world.rank,
                                world.size, world.address, store->getPort(), world.timeout.count() / 1000,
                                e.what_without_backtrace()));
  }
  return std::make_unique<GlooGroup>(world, std::move(store), std::move(group));
}

}  // namespace hebbkit::parallel
