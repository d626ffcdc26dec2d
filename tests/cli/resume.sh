#!/usr/bin/env bash
# resume.sh HEBBKIT DATA_ROOT WORKDIR: a run killed with SIGKILL while its second layer
# trains shows as `killed`, resumes with `hebbkit run --resume`, and ends with the same
# weights and accuracies as the same run left alone.
set -u
hebbkit="$1" data="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
cat > "$work/two.yaml" <<YAML
seed: 4
dataset: {name: mnist, root: '$data', validation: 40, preprocess: [flatten, center, unit_norm]}
layers:
  - rule: {name: krotov, hidden: 30, k: 3, epochs: 5}
  - rule: {name: krotov, hidden: 200, k: 3, epochs: 3000, batch: 20}
head: {name: softmax, epochs: 3, lr: 0.05}
stages: [train, evaluate]
YAML
fail() { echo "FAIL: $*"; cat "$work"/*.txt 2>/dev/null | tail -30; exit 1; }

"$hebbkit" run "$work/two.yaml" --out "$work/whole" --threads 1 --progress lines >"$work/whole.txt" 2>&1 \
  || fail "the uninterrupted run failed"

"$hebbkit" run "$work/two.yaml" --out "$work/killed" --threads 1 --progress lines >"$work/killed.txt" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "layers.1: training with rule" "$work/killed/log.txt" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
kill -KILL "$pid"
wait "$pid" 2>/dev/null
grep -q '"layers_trained": 1' "$work/killed/model/model.json" || fail "no checkpoint after layer 0"
grep -q '"status": "running"' "$work/killed/manifest.json" || fail "killed run's manifest does not say running"
"$hebbkit" runs "$work" | grep -E '^killed +killed ' || fail "hebbkit runs does not show the run as killed"

"$hebbkit" run --resume "$work/killed" --progress lines >"$work/resumed.txt" 2>&1 || fail "the resumed run failed"
grep -q "resuming: 1 of 2 layer(s) trained" "$work/killed/log.txt" || fail "the resumed run did not start from layer 1"
grep -q '"status": "completed"' "$work/killed/manifest.json" || fail "resumed run not completed"
for f in layer0_weights.npy layer1_weights.npy head_weight.npy head_bias.npy; do
  cmp -s "$work/whole/model/$f" "$work/killed/model/$f" || fail "$f differs from the uninterrupted run"
done
for key in train_accuracy val_accuracy test_accuracy; do
  a=$(grep -o "\"$key\": [0-9.e-]*" "$work/whole/summary.json")
  b=$(grep -o "\"$key\": [0-9.e-]*" "$work/killed/summary.json")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$key: uninterrupted '$a', resumed '$b'"
done
"$hebbkit" run --resume "$work/killed" >"$work/again.txt" 2>&1; code=$?
[ "$code" -eq 2 ] && grep -q "nothing to resume" "$work/again.txt" || fail "resuming a completed run: exit $code"
echo "ok: killed mid-layer, resumed, identical weights and accuracies"
