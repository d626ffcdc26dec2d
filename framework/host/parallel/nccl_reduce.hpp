#pragma once
// The all-reduce of a data-parallel run whose tensors live on GPUs: c10d's
// ProcessGroupNCCL, meeting at the run's TCPStore. Compiled where LibTorch was built with
// NCCL (its CMake target defines USE_C10D_NCCL); elsewhere nccl_reduce() says why not and
// the run's CUDA tensors go through host memory to Gloo. tests/parallel/nccl_compiles.sh
// compiles the NCCL half against CUDA's headers where they are installed.
#include <chrono>
#include <memory>
#include <string>

#include <c10/util/intrusive_ptr.h>
#include <torch/types.h>

namespace c10d {
class Store;
}  // namespace c10d

namespace hebbkit::parallel {

/// Sums a buffer element-wise over the processes, in place, on its device.
class DeviceReduce {
 public:
  virtual ~DeviceReduce();
  virtual void sum(torch::Tensor& buffer) = 0;
};

/// NCCL over `store` (under its own key prefix) for `rank` of `size`. nullptr, with
/// `why_not` set, when this LibTorch has no NCCL.
std::unique_ptr<DeviceReduce> nccl_reduce(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                          std::chrono::milliseconds timeout, std::string& why_not);

}  // namespace hebbkit::parallel
