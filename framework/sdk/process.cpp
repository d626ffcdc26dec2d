#include "hebbkit/process.hpp"

namespace hebbkit {

void tune_process(char** argv) {
  use_fast_blas_kernels(argv);  // first: it may replace this process
  keep_freed_memory();
  flush_denormals();
}

}  // namespace hebbkit
