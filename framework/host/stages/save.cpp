// save: every layer's and the head's tensors as .npy in artifacts/, for numpy users.
// (The model itself is always in model/, written by `train`.)
#include <fmt/ranges.h>
#include <torch/types.h>

#include "hebbkit/io.hpp"
#include "recipe/recipe.hpp"
#include "stages/stage.hpp"

namespace hebbkit::stages {
namespace {


class Save final : public Stage {
 public:
  void run(StageEnv& env) override {
    for (std::size_t i = 0; i < env.model.layer_count(); ++i)
      for (const auto& [name, tensor] : env.model.layer(i).state())
        save(env, fmt::format("layer{}_{}.npy", i, io::file_safe(name)), tensor);
    for (const auto& [name, tensor] : env.model.head().state())
      save(env, fmt::format("head_{}.npy", io::file_safe(name)), tensor);
  }

 private:
  static void save(StageEnv& env, const std::string& file_name, const torch::Tensor& tensor) {
    const auto file = env.store.artifacts() / file_name;
    io::save_npy(file, tensor.detach().to(torch::kCPU));
    env.artifact(file);
    env.ctx.info("saved {} {}", file_name, fmt::join(tensor.sizes(), "x"));
  }
};

}  // namespace

StageType save_stage() {
  StageType t;
  t.name = "save";
  t.summary = "every layer's and the head's tensors as artifacts/layer<i>_<name>.npy and head_<name>.npy";
  t.make = [](const recipe::StageUse&) { return std::make_unique<Save>(); };
  return t;
}

}  // namespace hebbkit::stages
