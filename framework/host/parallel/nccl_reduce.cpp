#include "parallel/nccl_reduce.hpp"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "hebbkit/errors.hpp"

namespace hebbkit::parallel {

DeviceReduce::~DeviceReduce() = default;

#ifdef USE_C10D_NCCL
namespace {

class NcclReduce final : public DeviceReduce {
 public:
  NcclReduce(c10::intrusive_ptr<c10d::ProcessGroupNCCL> group, int rank, int size, std::chrono::milliseconds timeout)
      : group_(std::move(group)), rank_(rank), size_(size), timeout_(timeout) {}

  // One tensor per call: in c10d 1.x a list given to allreduce means one tensor per GPU of
  // this process, not several tensors to reduce.
  void sum(torch::Tensor& buffer) override {
    std::vector<at::Tensor> one = {buffer};
    try {
      group_->allreduce(one)->wait(timeout_);
    } catch (const std::exception& e) {
      throw DataError(fmt::format("rank {} of {}: an NCCL all-reduce did not complete (waiting at most {} s): a "
                                  "process of the run stopped or hangs ({})",
                                  rank_, size_, timeout_.count() / 1000.0, e.what()));
    }
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> group_;
  int rank_, size_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<DeviceReduce> nccl_reduce(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                          std::chrono::milliseconds timeout, std::string& why_not) {
  why_not.clear();
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  // Gloo's rendezvous and hebbkit's own keys share the store: NCCL's go under a prefix.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("hebbkit/nccl", store);
  auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, size, options);
  return std::make_unique<NcclReduce>(std::move(group), rank, size, timeout);
}
#else
std::unique_ptr<DeviceReduce> nccl_reduce(const c10::intrusive_ptr<c10d::Store>& /*store*/, int /*rank*/,
                                          int /*size*/, std::chrono::milliseconds /*timeout*/, std::string& why_not) {
  why_not = "this LibTorch was built without NCCL";
  return nullptr;
}
#endif

}  // namespace hebbkit::parallel
