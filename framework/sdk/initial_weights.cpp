#include "hebbkit/initial_weights.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
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

void check_init_prefix(const Params& params, bool wanted, const std::string& init_prefix) {
  if (wanted && init_prefix.empty())
    params.fail("init_prefix", "init: npy needs init_prefix: files PREFIX_<tensor>.npy (e.g. runs/X/model/layer0)");
  if (!wanted && !init_prefix.empty()) params.fail("init_prefix", "init_prefix is only read with init: npy");
  if (init_prefix.empty()) return;
  const fs::path prefix(init_prefix);
  const fs::path folder = prefix.has_parent_path() ? prefix.parent_path() : fs::path(".");
  const std::string stem = prefix.filename().string() + "_";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(stem, 0) == 0 && entry.path().extension() == ".npy") return;
  }
  params.fail("init_prefix", fmt::format("{}: no file {}*.npy in {}", init_prefix, stem, folder.string()));
}

void load_initial_state(const std::string& prefix, const std::vector<NamedTensor>& fresh) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : fresh) {
    const fs::path file = prefix + "_" + io::file_safe(name) + ".npy";
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
      throw DataError(fmt::format("{}: missing: init_prefix {} needs a file for the layer's '{}'", file.string(), prefix,
                                  name));
    auto target = tensor;
    target.copy_(load_initial_weights(file, tensor.sizes(), tensor.options()));
  }
}

}  // namespace hebbkit
