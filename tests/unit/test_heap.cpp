#include "support/catch.hpp"

#include <stdlib.h>

#include "hebbkit/heap.hpp"

TEST_CASE("keep_freed_memory sets glibc's thresholds unless the user set them", "[system]") {
  ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  ::unsetenv("MALLOC_TRIM_THRESHOLD_");
  CHECK(hebbkit::keep_freed_memory());
  ::setenv("MALLOC_TRIM_THRESHOLD_", "131072", 1);
  CHECK_FALSE(hebbkit::keep_freed_memory());
  ::unsetenv("MALLOC_TRIM_THRESHOLD_");
}
