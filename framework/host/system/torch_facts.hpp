#pragma once
// The facts about LibTorch a run's manifest records; the rest of system/ is torch-free.
#include <string>
#include <vector>

namespace hebbkit::system {

/// LibTorch's version, e.g. "1.13.1".
std::string libtorch_version();

/// The BLAS / LAPACK libraries doing torch's matrix products: one tiny product first, so
/// that a lazily loaded backend is counted, then loaded_blas_libraries().
std::vector<std::string> blas_in_use();

}  // namespace hebbkit::system
