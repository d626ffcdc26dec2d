#include "hebbkit/initial_weights.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"

namespace hebbkit {
namespace fs = std::filesystem;

void check_init_file(const Params& params, bool init_is_npy, const std::string& init_file, const std::string& init_name) {
  if (init_is_npy && init_file.empty()) params.fail("init_file", "init: npy needs init_file: a .npy file");
  if (!init_is_npy && !init_file.empty())
    params.fail("init_file", fmt::format("init_file is only read with init: npy (init is '{}')", init_name));
  std::error_code ec;
  if (!init_file.empty() && !fs::is_regular_file(init_file, ec))
    params.fail("init_file", fmt::format("{}: no such file", init_file));
}

torch::Tensor load_initial_weights(const fs::path& file, at::IntArrayRef shape, const torch::TensorOptions& options) {
  auto w = io::load_npy(file);
  if (w.sizes() != shape)
    throw DataError(fmt::format("{}: init_file holds a {} tensor, the layer needs {}", file.string(),
                                fmt::join(w.sizes(), "x"), fmt::join(shape, "x")));
  return w.to(options).contiguous();
}

}  // namespace hebbkit
