#!/usr/bin/env bash
# run.sh BUILD_DIR WORK_DIR DATA_ROOT: installs hebbkit into a fresh prefix, builds the
# out-of-tree plugin (tests/out_of_tree) against the installed package, and runs a recipe
# with the installed hebbkit. The installed tree must not need the checkout: no installed
# file names the source folder, data is found in the installed default folder, the git
# commit is the one recorded at build time, and plugins export only their entry points.
set -euo pipefail
build="$1" work="$2" data="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

source_dir="$(cat "$build/lib/hebbkit/source_dir.txt")"
if grep -rlF "$source_dir" "$prefix"; then fail "the installed files above name the source folder $source_dir"; fi
[ ! -e "$prefix/lib/hebbkit/source_dir.txt" ] || fail "the build-tree marker was installed"
# Each listing is captured before grep reads it: under pipefail a `grep -q` that stops at its
# first match cuts the writer off with SIGPIPE, and a long listing then "fails".
has() { local text; text="$("${@:2}")" && grep -qE -- "$1" <<<"$text"; }
has 'R.*PATH.*\$ORIGIN/\.\./lib' readelf -d "$prefix/bin/hebbkit" || fail "bin/hebbkit has no \$ORIGIN run path"
krotov="$prefix/lib/hebbkit/plugins/hebbkit_krotov.so"
has 'R.*PATH.*\$ORIGIN/\.\./\.\.' readelf -d "$krotov" || fail "plugins have no \$ORIGIN run path"
has ' hebbkit_manifest$' nm -D --defined-only "$krotov" || fail "the krotov plugin does not export its manifest"
if has 'KrotovRule' nm -DC --defined-only "$krotov"; then fail "the krotov plugin exports its private classes"; fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here/../out_of_tree" -B "$work/plugin" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" >/dev/null
grep -q "hebbkit_DIR:PATH=$prefix" "$work/plugin/CMakeCache.txt" || fail "the plugin did not find the installed package"
cmake --build "$work/plugin" >/dev/null

# A home whose default data folder holds the datasets; HEBBKIT_DATA unset.
home="$work/home"
mkdir -p "$home/.local/share/hebbkit"
ln -s "$(cd "$data" && pwd)" "$home/.local/share/hebbkit/datasets"
hebbkit() { env -u HEBBKIT_DATA -u XDG_DATA_HOME HOME="$home" HEBBKIT_PLUGIN_PATH="$work/plugin" "$prefix/bin/hebbkit" "$@"; }
listing="$(hebbkit plugins)"
grep -qE '^head +centroid ' <<<"$listing" || fail "the installed hebbkit does not list the out-of-tree plugin"
grep -E '^rule +krotov ' <<<"$listing" | grep -qF "$prefix/lib/hebbkit/plugins" || fail "built-in plugins not from the prefix"
hebbkit run "$here/../out_of_tree/centroid.yaml" --out "$work/run" --threads 1 --progress lines >"$work/run.txt" 2>&1 \
  || { cat "$work/run.txt"; fail "the recipe failed with the installed hebbkit"; }
grep -qF "loading mnist from $home/.local/share/hebbkit/datasets" "$work/run/log.txt" || fail "data not found in the installed default folder"
commit="$(git -C "$source_dir" rev-parse HEAD 2>/dev/null || echo unknown)"
grep -q "\"git_commit\": \"$commit" "$work/run/manifest.json" || fail "manifest git_commit is not the build's commit $commit"
echo "ok: installed to a prefix, out-of-tree plugin built against it, recipe ran without the checkout"
