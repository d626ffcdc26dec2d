#include "parallel/gloo_world.hpp"

#include <map>
#include <utility>

#include <fmt/format.h>
#include <gloo/allreduce_halving_doubling.h>
#include <gloo/allreduce_ring.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "hebbkit/errors.hpp"
#include "parallel/nccl_reduce.hpp"
#include "system/system_info.hpp"

namespace hebbkit::parallel {

namespace {

// Gloo's all-reduces over its TCP pairs in synchronous mode: the calling thread sends and
// receives itself. c10d's ProcessGroupGloo hands every collective to a worker thread
// and its pairs to an event loop; those wake-ups cost 0.7 ms per all-reduce on the 2-core
// VM (38 us this way, docs/performance.md "Data-parallel"), longer than half a Krotov step.
class GlooGroup final : public GlooCollective {
 public:
  GlooGroup(const World& world, c10::intrusive_ptr<c10d::TCPStore> store, std::shared_ptr<gloo::rendezvous::Context> context,
            std::vector<std::string> hosts)
      : world_(world), store_(std::move(store)), context_(std::move(context)), hosts_(std::move(hosts)) {
    if (!world_.cuda) return;
    std::string why_not;
    device_ = nccl_reduce(store_, world_.rank, world_.size, world_.timeout, why_not);
    backend_ = device_ ? "nccl" : fmt::format("gloo (CUDA tensors through host memory: {})", why_not);
  }

  int rank() const override { return world_.rank; }
  int size() const override { return world_.size; }

  // One all-reduce per dtype: the tensors are packed into a buffer kept per dtype and
  // length (Gloo's algorithms bind to their buffer) and unpacked after.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    if (world_.size == 1) return;
    std::map<c10::ScalarType, std::vector<torch::Tensor*>> by_type;
    for (auto& t : tensors) by_type[t.scalar_type()].push_back(&t);
    for (auto& [type, group] : by_type) {
      std::int64_t count = 0;
      for (const auto* t : group) count += t->numel();
      if (count == 0) continue;
      const bool on_gpu = device_ && group.front()->is_cuda();
      Ring* ring = on_gpu ? nullptr : &ring_for(type, count);
      torch::Tensor buffer = on_gpu ? gpu_buffer(type, count, group.front()->device()) : ring->buffer;
      std::int64_t offset = 0;
      for (const auto* t : group) {
        buffer.slice(0, offset, offset + t->numel()).copy_(t->detach().reshape({-1}));
        offset += t->numel();
      }
      const auto started = std::chrono::steady_clock::now();
      if (on_gpu) {
        device_->sum(buffer);
      } else {
        // A peer that died closes its connection; one that hangs runs into the pairs'
        // timeout. Either way Gloo throws, and this process must not wait for ever.
        try {
          ring->algorithm->run();
        } catch (const std::exception& e) {
          throw peer_lost(e.what());
        }
      }
      traffic_.calls += 1;
      traffic_.bytes += static_cast<double>(count * buffer.element_size());
      traffic_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      offset = 0;
      for (auto* t : group) {
        t->copy_(buffer.slice(0, offset, offset + t->numel()).view(t->sizes()));
        offset += t->numel();
      }
    }
  }

  Traffic traffic() const override { return traffic_; }
  std::string backend() const override { return backend_; }
  std::vector<std::string> hosts() const override { return hosts_; }

  void agree(const std::vector<std::pair<std::string, std::string>>& facts) override {
    std::string mine;
    for (const auto& [name, value] : facts) mine += name + "=" + value + "\n";
    const auto key = [](const char* what, int rank) { return fmt::format("hebbkit/{}/{}", what, rank); };
    std::string differs;
    try {
      store_->set(key("facts", world_.rank), std::vector<std::uint8_t>(mine.begin(), mine.end()));
      for (int other = 0; other < world_.size && differs.empty(); ++other) {
        if (other == world_.rank) continue;
        const auto bytes = store_->get(key("facts", other));
        const std::string theirs(bytes.begin(), bytes.end());
        if (theirs != mine) differs = difference(other, mine, theirs);
      }
      // Everyone has read before anyone leaves: rank 0 holds the store.
      store_->set(key("read", world_.rank), {1});
      std::vector<std::string> read;
      for (int other = 0; other < world_.size; ++other) read.push_back(key("read", other));
      store_->wait(read);
    } catch (const c10::Error& e) {
      throw peer_lost(e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw peer_lost(e.what());
    }
    if (!differs.empty()) throw RecipeError(differs);
  }

 private:
  struct Ring {
    torch::Tensor buffer;
    std::unique_ptr<gloo::Algorithm> algorithm;
  };

  // Two processes: the ring (one exchange each way). More: halving-doubling, whose
  // 2 log2(P) rounds keep a minibatch's small all-reduce from growing with P as the ring's
  // 2 (P - 1) would.
  template <class T>
  std::unique_ptr<gloo::Algorithm> ring_over(torch::Tensor& buffer) {
    const std::vector<T*> pointers = {buffer.data_ptr<T>()};
    const auto count = static_cast<int>(buffer.numel());
    if (world_.size <= 2) return std::make_unique<gloo::AllreduceRing<T>>(context_, pointers, count);
    return std::make_unique<gloo::AllreduceHalvingDoubling<T>>(context_, pointers, count);
  }

  // Every process asks for the same (dtype, length) in the same order, so the rings are
  // made, and take their slots, in step.
  Ring& ring_for(c10::ScalarType type, std::int64_t count) {
    const auto key = std::make_pair(type, count);
    if (auto found = rings_.find(key); found != rings_.end()) return found->second;
    Ring ring;
    ring.buffer = torch::empty({count}, torch::TensorOptions().dtype(type));
    switch (type) {
      case torch::kFloat32: ring.algorithm = ring_over<float>(ring.buffer); break;
      case torch::kFloat64: ring.algorithm = ring_over<double>(ring.buffer); break;
      case torch::kInt32: ring.algorithm = ring_over<std::int32_t>(ring.buffer); break;
      case torch::kInt64: ring.algorithm = ring_over<std::int64_t>(ring.buffer); break;
      default:
        throw std::invalid_argument(fmt::format("all_reduce_sum: tensors of {} are not reduced; use float32, "
                                                "float64, int32 or int64", c10::toString(type)));
    }
    return rings_.emplace(key, std::move(ring)).first->second;
  }

  // NCCL reduces in place on the GPU: the packed tensors' buffer lives there, kept per
  // dtype and length as the rings' are.
  torch::Tensor gpu_buffer(c10::ScalarType type, std::int64_t count, torch::Device device) {
    auto& buffer = gpu_buffers_[std::make_pair(type, count)];
    if (!buffer.defined()) buffer = torch::empty({count}, torch::TensorOptions().dtype(type).device(device));
    return buffer;
  }

  std::string difference(int other, const std::string& mine, const std::string& theirs) const {
    const auto lines = [](const std::string& text) {
      std::vector<std::string> out;
      for (std::size_t at = 0, next; at < text.size(); at = next + 1) {
        next = text.find('\n', at);
        out.push_back(text.substr(at, next - at));
      }
      return out;
    };
    const auto a = lines(mine), b = lines(theirs);
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    return fmt::format("rank {} and rank {} of {} differ: {} here, {} there; every process must run the same recipe "
                       "with the same hebbkit and plugins",
                       world_.rank, other, world_.size, i < a.size() ? a[i] : "nothing", i < b.size() ? b[i] : "nothing");
  }

  DataError peer_lost(const std::string& why) const {
    return DataError(fmt::format("rank {} of {}: an all-reduce did not complete (waiting at most {} s): a process of "
                                 "the run stopped or hangs ({})",
                                 world_.rank, world_.size, world_.timeout.count() / 1000.0, why));
  }

  World world_;
  Traffic traffic_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
  std::map<std::pair<c10::ScalarType, std::int64_t>, Ring> rings_;
  std::vector<std::string> hosts_;
  std::string backend_ = "gloo";
  std::unique_ptr<DeviceReduce> device_;  ///< NCCL, for a run on GPUs
  std::map<std::pair<c10::ScalarType, std::int64_t>, torch::Tensor> gpu_buffers_;
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
  } catch (const std::exception& e) {
    throw DataError(fmt::format("rank {}: cannot {} the rendezvous store at {}:{}: {}", world.rank,
                                world.rank == 0 ? "open" : "reach", world.address, world.port, e.what()));
  }
  if (world.rank == 0 && listening) listening(store->getPort());
  // A process started for another world size would wait in the mesh for peers that never
  // come (or leave one out): each compares its size with rank 0's first.
  const std::string size = std::to_string(world.size);
  try {
    if (world.rank == 0) store->set("hebbkit/world_size", std::vector<std::uint8_t>(size.begin(), size.end()));
    const auto theirs = store->get("hebbkit/world_size");
    if (const std::string first(theirs.begin(), theirs.end()); first != size)
      throw RecipeError(fmt::format("rank {} was started for {} processes, but rank 0 for {}: start every process "
                                    "with the same --nproc (under srun, the same --ntasks)",
                                    world.rank, size, first));
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("rank {} of {}: rank 0 did not answer at {}:{} within {} s: {}", world.rank,
                                world.size, world.address, store->getPort(), world.timeout.count() / 1000,
                                e.what_without_backtrace()));
  }
  auto context = std::make_shared<gloo::rendezvous::Context>(world.rank, world.size);
  std::vector<std::string> hosts;
  context->setTimeout(world.timeout);
  try {
    c10d::ProcessGroupGloo::GlooStore rendezvous(store);
    auto device = gloo::transport::tcp::CreateDevice((world.own_host.empty() ? world.address : world.own_host).c_str());
    context->connectFullMesh(rendezvous, device);
    for (int peer = 0; peer < world.size; ++peer)
      if (peer != world.rank) context->getPair(peer)->setSync(/*sync=*/true, /*busyPoll=*/false);
    // Each rank's host, for the manifest (get waits for a peer yet to write its own).
    const std::string here = system::host_name();
    store->set(fmt::format("hebbkit/host/{}", world.rank), std::vector<std::uint8_t>(here.begin(), here.end()));
    for (int peer = 0; peer < world.size; ++peer) {
      const auto name = store->get(fmt::format("hebbkit/host/{}", peer));
      hosts.emplace_back(name.begin(), name.end());
    }
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("rank {} of {}: the processes did not all join at {}:{} within {} s: {}", world.rank,
                                world.size, world.address, store->getPort(), world.timeout.count() / 1000,
                                e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw DataError(fmt::format("rank {} of {}: the processes did not all join at {}:{} within {} s: {}", world.rank,
                                world.size, world.address, store->getPort(), world.timeout.count() / 1000, e.what()));
  }
  return std::make_unique<GlooGroup>(world, std::move(store), std::move(context), std::move(hosts));
}

}  // namespace hebbkit::parallel
