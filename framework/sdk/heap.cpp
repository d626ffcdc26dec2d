#include "hebbkit/heap.hpp"

#include <malloc.h>

#include <cstdlib>

namespace hebbkit {

bool keep_freed_memory() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr) return false;
  // 32 MiB is glibc's largest mmap threshold on 64-bit; the heap may keep up to 256 MiB free at its top.
  const bool mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  return mmap_set && trim_set;
}

}  // namespace hebbkit
