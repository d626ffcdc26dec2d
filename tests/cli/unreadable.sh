#!/usr/bin/env bash
# unreadable.sh HEBBKIT WORKDIR: a recipe the user may not read is reported as such
# ("Permission denied"), not as "not found". Root reads everything, so as root the command
# runs as nobody (setpriv); without setpriv the test is skipped, not passed.
set -u
hebbkit="$1" work="$2"
rm -rf "$work" && mkdir -p "$work" && chmod 755 "$work"
printf 'seed: 0\n' > "$work/locked.yaml"
chmod 000 "$work/locked.yaml"
run=("$hebbkit")
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null || { echo "HEBBKIT-SKIPPED: running as root without setpriv"; exit 0; }
  run=(setpriv --reuid=65534 --regid=65534 --clear-groups "$hebbkit")
  # The checkout may sit where nobody cannot reach (e.g. under /root).
  "${run[@]}" --version >/dev/null 2>&1 || { echo "HEBBKIT-SKIPPED: nobody cannot run $hebbkit here"; exit 0; }
fi
out="$("${run[@]}" validate "$work/locked.yaml" 2>&1)"; code=$?
[ "$code" -eq 2 ] || { echo "FAIL: exit $code: $out"; exit 1; }
grep -q "locked.yaml: recipe file cannot be read: Permission denied" <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "ok: $out"
