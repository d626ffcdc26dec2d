#pragma once
// OpenBLAS picks its kernels for the CPU once, when it is loaded. OpenBLAS 0.3.21 (Debian 12)
// does not know CPUs newer than it (e.g. Intel family 6 model 0xCF) and falls back to its
// Prescott (SSE3) kernels there: every product then runs 5-8x slower than the CPU allows.
// The kernels cannot be switched in a running process, so an executable re-executes itself
// once with OPENBLAS_CORETYPE naming the kernels the CPU can run. Executables get
// this through tune_process(argv) (hebbkit/process.hpp), first thing in main().
#include <optional>
#include <string>

namespace hebbkit {

/// The OpenBLAS kernel set in use ("SkylakeX", "Haswell", "Prescott", ...); empty when the
/// BLAS in this process is not OpenBLAS.
std::string blas_core();

/// What OPENBLAS_CORETYPE should name instead of `core` on a CPU with these features:
/// SkylakeX with AVX-512 (F, BW, DQ, VL), Haswell with AVX2 and FMA. nullopt when `core`
/// is already one of OpenBLAS's AVX2/AVX-512 kernel sets, is not OpenBLAS's, or the CPU has
/// neither feature set.
std::optional<std::string> better_blas_core(const std::string& core, bool avx512, bool avx2_fma);

/// Call first thing in main(). When OpenBLAS fell back to kernels older than this CPU and
/// OPENBLAS_CORETYPE is unset (a value set by the user is always kept), sets it and
/// re-executes this program with the same arguments (same process id); otherwise returns.
/// Returns also when exec fails, leaving the slower kernels.
void use_fast_blas_kernels(char** argv);

/// For the manifest: the kernel set, and "(chosen by hebbkit; OpenBLAS picked X)" when the
/// re-execution above chose it.
std::string blas_core_description();

}  // namespace hebbkit
