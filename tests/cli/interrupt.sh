#!/usr/bin/env bash
# interrupt.sh HEBBKIT DATA_ROOT WORKDIR: a run stopped by SIGINT, SIGTERM or SIGHUP (a
# closed terminal) exits 130 and leaves status "interrupted" in its manifest, with the data
# stage's summary intact; a run whose output pipe closes (SIGPIPE) ends the same way.
set -u
hebbkit="$1" data="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
cat > "$work/long.yaml" <<YAML
dataset: {name: mnist, root: '$data'}
head: {name: softmax, epochs: 100000, batch: 1}
YAML
for signal in INT TERM HUP; do
  "$hebbkit" run "$work/long.yaml" --out "$work/$signal" --threads 1 --progress lines >"$work/$signal.txt" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "training head" "$work/$signal/log.txt" 2>/dev/null && break; sleep 0.1; done
  kill -"$signal" "$pid"
  wait "$pid"; code=$?
  [ "$code" -eq 130 ] || { echo "SIG$signal: expected exit 130, got $code"; cat "$work/$signal.txt"; exit 1; }
  grep -q '"status": "interrupted"' "$work/$signal/manifest.json" || { echo "SIG$signal: manifest:"; cat "$work/$signal/manifest.json"; exit 1; }
  grep -q '"train": 400' "$work/$signal/summary.json" || { echo "SIG$signal: summary:"; cat "$work/$signal/summary.json"; exit 1; }
  echo "ok: SIG$signal leaves an interrupted run"
done
# A closed pipe on stdout/stderr: SIGPIPE must not kill the run before its records are closed.
"$hebbkit" run "$work/long.yaml" --out "$work/PIPE" --threads 1 --progress lines 2>&1 | head -c 1 >/dev/null &
for _ in $(seq 600); do grep -q "training head" "$work/PIPE/log.txt" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 300); do grep -q '"status": "running"' "$work/PIPE/manifest.json" || break; sleep 0.1; done
grep -q '"status": "interrupted"' "$work/PIPE/manifest.json" || { echo "SIGPIPE: manifest:"; cat "$work/PIPE/manifest.json"; exit 1; }
echo "ok: a closed output pipe leaves an interrupted run"
