#pragma once
// What a CUDA build of LibTorch generates here (a CPU build ships no such file): enough for
// tests/parallel/nccl_compiles.sh to compile against c10's CUDA headers.
#define C10_CUDA_BUILD_SHARED_LIBS
