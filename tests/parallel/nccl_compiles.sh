#!/usr/bin/env bash
# nccl_compiles.sh CXX SOURCE_DIR TORCH_INCLUDE_DIR...: the NCCL half of
# host/parallel/nccl_reduce.cpp, which a CPU-only LibTorch never compiles, compiled (syntax
# only) as a CUDA LibTorch builds it: USE_C10D_NCCL defined, CUDA's and NCCL's headers on the
# path. Exits 77 (skipped, saying why) where no CUDA toolkit with NCCL's headers is
# installed. Running it needs GPUs (docs/recipes.md, "Data-parallel").
set -u
cxx="$1" src="$2"
shift 2
cuda=""
for dir in /usr/local/cuda/include /usr/local/cuda-*/include /usr/include; do
  if [ -f "$dir/nccl.h" ] && [ -f "$dir/cuda_runtime_api.h" ]; then cuda="$dir"; break; fi
done
if [ -z "$cuda" ]; then
  echo "skipped: no CUDA toolkit with NCCL's headers (nccl.h, cuda_runtime_api.h) is installed"
  exit 77
fi
torch=()
for dir in "$@"; do torch+=("-I$dir"); done
"$cxx" -std=c++17 -fsyntax-only -DUSE_C10D_NCCL -DUSE_CUDA -DUSE_C10D_GLOO -DUSE_DISTRIBUTED \
  -I"$src/tests/support/cuda_headers" -I"$src/framework/include" -I"$src/framework/host" -I"$src/framework/core" \
  "${torch[@]}" -I"$cuda" "$src/framework/host/parallel/nccl_reduce.cpp" || { echo "FAIL: the NCCL path does not compile"; exit 1; }
echo "ok: the NCCL all-reduce compiles against $cuda"
