#!/usr/bin/env bash
# expect.sh CODE PATTERN -- COMMAND...: runs COMMAND, passes when it exits with CODE
# and its combined output matches the extended regex PATTERN.
set -u
code="$1" pattern="$2"; shift 3
out="$("$@" 2>&1)"; got=$?
if [ "$got" -ne "$code" ]; then printf 'expected exit %s, got %s from: %s\n%s\n' "$code" "$got" "$*" "$out"; exit 1; fi
# Newlines become spaces so that a pattern can span lines.
if ! tr '\n' ' ' <<<"$out" | grep -Eq -- "$pattern"; then printf 'output of %s does not match /%s/:\n%s\n' "$*" "$pattern" "$out"; exit 1; fi
echo "ok: $*"
