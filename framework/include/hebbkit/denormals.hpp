#pragma once
// Float values below 1.2e-38 (denormals) take a microcode assist on x86 in every operation
// that reads or makes one: a GEMM over weights with many of them runs about 10x slower.
// Hebbian weights make them: a Krotov unit's weight on a pixel that is 0 in every image it
// wins decays geometrically (W += eps (v - I W)), and its cached sign(W)|W|^(p-1) underflows
// first. A Fashion-MNIST run's epochs went from 2 s to 20 s that way. Executables get
// this through tune_process(argv) (hebbkit/process.hpp), first thing in main(). Such values become 0, which no result here can tell from them.

namespace hebbkit {

/// Sets flush-to-zero and denormals-are-zero on the calling thread and on every thread of
/// the current OpenMP pool (threads started later inherit the caller's setting). Returns
/// false where the CPU has no such mode (then nothing changes).
bool flush_denormals();

}  // namespace hebbkit
