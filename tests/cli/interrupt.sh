#!/usr/bin/env bash
# interrupt.sh HEBBKIT DATA_ROOT WORKDIR: a run stopped by SIGINT exits 130 and leaves
# status "interrupted" in its manifest, with the data stage's summary intact.
set -u
hebbkit="$1" data="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
cat > "$work/long.yaml" <<YAML
dataset: {name: mnist, root: '$data'}
head: {name: softmax, epochs: 100000, batch: 1}
YAML
"$hebbkit" run "$work/long.yaml" --out "$work/run" --threads 1 --progress lines >"$work/out.txt" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "training head" "$work/run/log.txt" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"; code=$?
[ "$code" -eq 130 ] || { echo "expected exit 130, got $code"; cat "$work/out.txt"; exit 1; }
grep -q '"status": "interrupted"' "$work/run/manifest.json" || { echo "manifest:"; cat "$work/run/manifest.json"; exit 1; }
grep -q '"train": 400' "$work/run/summary.json" || { echo "summary:"; cat "$work/run/summary.json"; exit 1; }
echo "ok: SIGINT leaves an interrupted run"
