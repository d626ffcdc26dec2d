#!/usr/bin/env bash
# layering.sh SOURCE_DIR: what must stay torch-free stays torch-free, and arrows point down.
#   framework/core  the host without tensors: it and every header it reaches through quoted
#                   includes resolve inside core/ or the SDK headers (nothing from host/ or
#                   cli/), and none includes torch, ATen or c10.
#   framework/cli   the command line: it may use host/ headers, but none that reaches torch.
#   the folders     of core/ and host/, in the one order below (LAYERS): a file includes the
#                   SDK, its own folder and the folders before its own, never one after.
# The build enforces part of this (core/ compiles without torch's include path), but ATen's
# headers sit in /usr/include, where any file finds them.
set -euo pipefail
src="$1/framework"
status=0

resolve() {  # resolve FROM_FILE NAME ROOTS...: the path of a quoted include, or nothing
  local from="$1" name="$2" dir
  shift 2
  for dir in "$(dirname "$from")" "$@"; do
    [ -f "$dir/$name" ] && { realpath "$dir/$name"; return 0; }
  done
  return 0  # not found: an empty answer, not a failure (set -e)
}

# check NAME DIR WHY_UNRESOLVED ROOTS...: walks every file in DIR and what it includes.
check() {
  local label="$1" dir="$2" why="$3"
  shift 3
  local -a roots=("$@") queue=() chains=()
  local -A seen=()
  local file chain line name target count=0
  while IFS= read -r -d '' file; do
    queue+=("$(realpath "$file")"); chains+=("${file#"$src"/}"); count=$((count + 1))
  done < <(find "$dir" -name '*.cpp' -print0 -o -name '*.hpp' -print0)
  [ "$count" -gt 0 ] || { echo "FAIL: no files under $dir"; status=1; return; }
  while [ ${#queue[@]} -gt 0 ]; do
    file="${queue[0]}" chain="${chains[0]}"
    queue=("${queue[@]:1}") chains=("${chains[@]:1}")
    [ -n "${seen[$file]:-}" ] && continue
    seen[$file]=1
    while IFS= read -r line; do
      if [[ "$line" =~ ^#include\ *\<(torch|ATen|c10)/ ]]; then
        echo "FAIL: $chain -> ${line#\#include } ($label must not include torch)"
        status=1
      elif [[ "$line" =~ ^#include\ *\"([^\"]+)\" ]]; then
        name="${BASH_REMATCH[1]}"
        target="$(resolve "$file" "$name" "${roots[@]}")"
        if [ -z "$target" ]; then
          echo "FAIL: $chain includes \"$name\", $why"
          status=1
        else
          queue+=("$target"); chains+=("$chain -> ${target#"$src"/}")
        fi
      fi
    done < "$file"
  done
  echo "$label: $count files, ${#seen[@]} reached"
}

check "framework/core" "$src/core" "which is neither in core/ nor an SDK header (core/ sits below host/)" \
  "$src/core" "$src/include"
check "framework/cli" "$src/cli" "which is not a framework header" \
  "$src" "$src/core" "$src/host" "$src/include"
# The host's folders, bottom to top. A recipe is checked against the stage catalog
# (recipe/stage_catalog.hpp, defined by stages/table.cpp); stages work on prepared data
# (data/) and the model store (model/); the pipeline runs stages; the sweep driver runs recipes.
LAYERS=(core/system core/io core/plugins core/run core/recipe core/sweep core/report
        host/system host/parallel host/run host/recipe host/model host/data host/stages host/pipeline host/sweep)
rank() { local i; for i in "${!LAYERS[@]}"; do [ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return 0; }; done; echo -1; }
layered=0
for room in core host; do
  for dir in "$src/$room"/*/; do
    folder="$room/$(basename "$dir")"
    own="$(rank "$folder")"
    [ "$own" -ge 0 ] || { echo "FAIL: framework/$folder is not in LAYERS (tests/layering.sh): place it"; status=1; continue; }
    while IFS= read -r -d '' file; do
      layered=$((layered + 1))
      while IFS= read -r name; do
        target="$(resolve "$file" "$name" "$src/core" "$src/host" "$src/include")"
        [ -n "$target" ] || continue
        case "$target" in "$src"/core/*|"$src"/host/*) ;; *) continue ;; esac
        rel="${target#"$src"/}"
        theirs="$(rank "${rel%/*}")"
        if [ "$theirs" -gt "$own" ]; then
          echo "FAIL: ${file#"$src"/} includes $rel: $folder sits below ${rel%/*} (LAYERS in tests/layering.sh)"
          status=1
        fi
      done < <(sed -nE 's/^#include +"([^"]+)".*/\1/p' "$file")
    done < <(find "$dir" -name '*.cpp' -print0 -o -name '*.hpp' -print0)
  done
done
echo "layers: $layered files in ${#LAYERS[@]} folders"
[ "$status" -eq 0 ] && echo "ok: no torch in core/ or cli/, and every include of core/ and host/ points down"
exit "$status"
