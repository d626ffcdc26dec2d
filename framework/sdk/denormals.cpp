#include "hebbkit/denormals.hpp"

#include <atomic>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

namespace hebbkit {

bool flush_denormals() {
  if (!at::globalContext().setFlushDenormal(true)) return false;
  // The MXCSR register is per thread: set it inside the pool too, one chunk per thread.
  const std::int64_t threads = at::get_num_threads();
  std::atomic<bool> all{true};
  at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
    if (!at::globalContext().setFlushDenormal(true)) all = false;
  });
  return all;
}

}  // namespace hebbkit
