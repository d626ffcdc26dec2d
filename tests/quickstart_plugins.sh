#!/usr/bin/env bash
# quickstart_plugins.sh HEBBKIT RECIPE PLUGIN...: the `quickstart` build target (CMakeLists.txt,
# HEBBKIT_QUICKSTART_PLUGINS) builds every plugin the quick start's recipe names, so that
# `scripts/bootstrap quickstart`, which builds only that target, can run it.
set -euo pipefail
hebbkit="$1" recipe="$2"
shift 2
listing="$("$hebbkit" plugins)"
status=0
for name in $(grep -oE '(\{|^ +)name: *[a-z0-9_]+' "$recipe" | sed -E "s/.*name: *//" | sort -u); do
  # Every library that provides a plugin of that name (krotov: the rule's and the head's).
  files="$(awk -v n="$name" '$2 == n { print $NF }' <<<"$listing")"
  [ -n "$files" ] || { echo "FAIL: no plugin named '$name'"; status=1; continue; }
  for file in $files; do
    target="$(basename "$file" .so)"; target="${target#hebbkit_}"
    if [[ " $* " != *" $target "* ]]; then
      echo "FAIL: $recipe names '$name' (in $file), but HEBBKIT_QUICKSTART_PLUGINS ($*) lacks $target"
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "ok: the quickstart target builds every plugin $recipe names ($*)"
exit "$status"
