#include "hebbkit/state.hpp"

#include <cstring>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"

namespace hebbkit {

const torch::Tensor& find_state(const std::vector<NamedTensor>& state, const std::string& name) {
  for (const auto& [key, tensor] : state)
    if (key == name) return tensor;
  std::vector<std::string> present;
  for (const auto& entry : state) present.push_back(entry.first);
  throw DataError(fmt::format("saved state has no tensor '{}' (it has: {})", name,
                              present.empty() ? std::string("none") : fmt::format("{}", fmt::join(present, ", "))));
}

// torch's own archive format, kept as bytes: it covers every optimizer's state without
// hebbkit knowing their fields.
torch::Tensor optimizer_state(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  const std::string bytes = out.str();
  auto tensor = torch::empty({static_cast<std::int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const torch::Tensor& bytes) {
  if (bytes.scalar_type() != torch::kUInt8 || bytes.dim() != 1)
    throw DataError("optimizer state: expected a 1-d uint8 tensor written by optimizer_state()");
  const auto cpu = bytes.to(torch::kCPU).contiguous();
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(cpu.data_ptr()), static_cast<std::size_t>(cpu.numel()));
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("optimizer state does not fit this optimizer: {}", e.what_without_backtrace()));
  }
}

torch::Tensor generator_state() {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(const torch::Tensor& state) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

GeneratorGuard::GeneratorGuard() : state_(generator_state()) {}
GeneratorGuard::~GeneratorGuard() { set_generator_state(state_); }

}  // namespace hebbkit
