#!/usr/bin/env bash
# run.sh BUILD_DIR WORK_DIR DATA_ROOT: configures and builds the plugin in this folder
# against the hebbkit build tree, then runs it from a recipe through HEBBKIT_PLUGIN_PATH.
set -euo pipefail
build="$1" work="$2" data="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rm -rf "$work/run"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -Dhebbkit_DIR="$build" "${launcher[@]}" >/dev/null
cmake --build "$work/build"
export HEBBKIT_PLUGIN_PATH="$work/build" HEBBKIT_DATA="$data"
"$build/bin/hebbkit" plugins | grep -E '^head +centroid '
"$build/bin/hebbkit" run "$here/centroid.yaml" --out "$work/run" --threads 1 --progress lines
grep -q '"status": "completed"' "$work/run/manifest.json"
grep -q 'hebbkit_centroid.so' "$work/run/manifest.json"
acc=$(grep -o '"test_accuracy": [0-9.]*' "$work/run/summary.json" | grep -o '[0-9.]*$')
awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' || { echo "centroid head test accuracy $acc <= 0.9"; exit 1; }
echo "ok: out-of-tree plugin built, loaded and ran (test accuracy $acc)"
