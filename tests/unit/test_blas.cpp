#include "support/catch.hpp"

#include "hebbkit/blas.hpp"

using hebbkit::better_blas_core;

TEST_CASE("an OpenBLAS fallback core is replaced by what the CPU can run", "[blas]") {
  CHECK(better_blas_core("Prescott", true, true) == "SkylakeX");
  CHECK(better_blas_core("Prescott", false, true) == "Haswell");
  CHECK(better_blas_core("Nehalem", false, true) == "Haswell");
  CHECK(better_blas_core("Sandybridge", true, true) == "SkylakeX");
}

TEST_CASE("kernels OpenBLAS chose for a CPU it knows are kept", "[blas]") {
  for (const char* core : {"SkylakeX", "Cooperlake", "SapphireRapids", "Haswell", "Zen", "", "unknown"})
    CHECK_FALSE(better_blas_core(core, true, true).has_value());
  // A CPU without AVX2 and FMA keeps what OpenBLAS chose.
  CHECK_FALSE(better_blas_core("Prescott", false, false).has_value());
  CHECK_FALSE(better_blas_core("Sandybridge", false, false).has_value());
  CHECK(better_blas_core("Sandybridge", false, true) == "Haswell");
}
