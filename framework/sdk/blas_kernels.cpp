#include "hebbkit/blas.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

#include <fmt/format.h>

namespace hebbkit {
namespace {

// Set in the re-executed process: what OpenBLAS had picked, and that we were here before.
constexpr const char* kPickedVariable = "HEBBKIT_OPENBLAS_PICKED";

}  // namespace

std::string blas_core() {
  using CoreName = char* (*)();
  const auto fn = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn == nullptr) return "";
  const char* name = fn();
  return name != nullptr ? name : "";
}

std::optional<std::string> better_blas_core(const std::string& core, bool avx512, bool avx2_fma) {
  // OpenBLAS's pre-AVX2 x86-64 kernel sets, the ones an unknown CPU falls back to.
  static const std::array<const char*, 8> old = {"Prescott", "Core2", "Penryn", "Dunnington",
                                                 "Nehalem", "Atom",  "Barcelona", "Sandybridge"};
  bool is_old = false;
  for (const char* name : old) is_old = is_old || core == name;
  if (!is_old) return std::nullopt;
  if (avx512) return std::string("SkylakeX");
  if (avx2_fma) return std::string("Haswell");
  return std::nullopt;
}

void use_fast_blas_kernels(char** argv) {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv(kPickedVariable) != nullptr) return;
  const std::string core = blas_core();
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const auto better = better_blas_core(core, avx512, avx2_fma);
  if (!better) return;
  ::setenv("OPENBLAS_CORETYPE", better->c_str(), 1);
  ::setenv(kPickedVariable, core.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the kernels we have, and say so in the manifest.
  ::unsetenv("OPENBLAS_CORETYPE");
#else
  (void)argv;
#endif
}

std::string blas_core_description() {
  const std::string core = blas_core();
  const char* picked = std::getenv(kPickedVariable);
  if (picked == nullptr || core.empty() || core == picked) return core;
  return fmt::format("{} (chosen by hebbkit through OPENBLAS_CORETYPE; OpenBLAS picked {} for this CPU)", core, picked);
}

}  // namespace hebbkit
