#include "system/torch_facts.hpp"

#include <ATen/ATen.h>
#include <torch/version.h>

#include "system/system_info.hpp"

namespace hebbkit::system {

std::string libtorch_version() { return TORCH_VERSION; }

std::vector<std::string> blas_in_use() {
  {
    const at::Tensor a = at::ones({8, 8});
    (void)at::mm(a, a);
  }
  return loaded_blas_libraries();
}

}  // namespace hebbkit::system
