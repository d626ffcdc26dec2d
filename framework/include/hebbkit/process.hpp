#pragma once
// One call that an executable linking hebbkit makes first thing in main(): hebbkit, its
// benchmarks, and any tool a plugin author writes. Each setting below is process-wide and
// must come before the first tensor (the BLAS kernels even need a re-execution), so they
// travel together rather than being remembered one by one in every main().
#include "hebbkit/blas.hpp"
#include "hebbkit/denormals.hpp"
#include "hebbkit/heap.hpp"

namespace hebbkit {

/// use_fast_blas_kernels(argv) (may re-execute this program), then keep_freed_memory() and
/// flush_denormals(). Each keeps a setting the user made through its environment variable.
void tune_process(char** argv);

}  // namespace hebbkit
