#pragma once
// HEBBKIT_VECTOR_CLONES before a hot loop's function compiles it for AVX-512, AVX2 and
// baseline x86-64; the loader picks the best for the CPU. The build itself targets baseline
// x86-64 so that one binary runs everywhere. Elsewhere (other compilers, other CPUs) it is
// empty and the loop is compiled once.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HEBBKIT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HEBBKIT_VECTOR_CLONES
#endif
