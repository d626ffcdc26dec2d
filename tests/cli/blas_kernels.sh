#!/usr/bin/env bash
# blas_kernels.sh HEBBKIT RECIPE WORKDIR: hebbkit runs OpenBLAS's AVX2 / AVX-512 kernels on a
# CPU that has them, even where OpenBLAS itself falls back to Prescott (it re-executes itself
# with OPENBLAS_CORETYPE, keeping its process id); a kernel set the user names is kept.
set -u
hebbkit="$1" recipe="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
field() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\).*/\1/p" "$2" | head -1; }

env -u OPENBLAS_CORETYPE -u HEBBKIT_OPENBLAS_PICKED "$hebbkit" run "$recipe" --out "$work/auto" --threads 1 --progress lines \
  >"$work/auto.txt" 2>&1 &
pid=$!
wait "$pid" || { echo "run failed:"; cat "$work/auto.txt"; exit 1; }
core="$(field blas_core "$work/auto/manifest.json")"
[ "$(field pid "$work/auto/manifest.json")" = "$pid" ] || { echo "the run's pid is not the one started ($pid):"; cat "$work/auto/manifest.json"; exit 1; }
if grep -q '^flags.* avx2 .*' /proc/cpuinfo && grep -q '^flags.* fma ' /proc/cpuinfo && [ -n "$core" ]; then
  case "$core" in
    Prescott*|Core2*|Penryn*|Dunnington*|Nehalem*|Atom*|Barcelona*)
      echo "an AVX2 CPU runs OpenBLAS's $core kernels"; exit 1 ;;
  esac
fi
if [ -n "$core" ] && ! grep -q "kernels $core" "$work/auto.txt"; then
  echo "the log does not name the kernels ($core):"; cat "$work/auto.txt"; exit 1
fi

OPENBLAS_CORETYPE=Prescott "$hebbkit" run "$recipe" --out "$work/user" --threads 1 --progress lines >"$work/user.txt" 2>&1 ||
  { echo "run failed:"; cat "$work/user.txt"; exit 1; }
user_core="$(field blas_core "$work/user/manifest.json")"
if [ -n "$core" ] && [ "$user_core" != "Prescott" ]; then
  echo "OPENBLAS_CORETYPE=Prescott was not kept: $user_core"; exit 1
fi
echo "ok: kernels '$core' chosen, 'Prescott' kept when asked for"
