#!/usr/bin/env bash
# resume.sh HEBBKIT DATA_ROOT WORKDIR: runs killed with SIGKILL part-way through a layer
# show as `killed`, resume with `hebbkit run --resume` from the checkpoint taken inside
# that layer, and end with the same weights and accuracies as the same run left alone.
# Six rules: krotov (second layer of two, with homeostatic thresholds), forward_forward (second of its own layers),
# backprop (batch-norm statistics and SGD momentum included), krotov_conv and softhebb (each the
# second layer, with their input batch norms), scff (second of its own layers).
set -u
hebbkit="$1" data="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; tail -30 "$work"/*.txt 2>/dev/null; exit 1; }

# case NAME LAYER_LINES FILES WAIT_EPOCHS [PREPROCESS]: WAIT_EPOCHS is how far the checkpoint
# must be (epochs_done) before the kill, so that it falls inside the part under test.
case_() {
  local name="$1" layers="$2" files="$3" wait_epochs="$4" preprocess="${5:-[flatten, center, unit_norm]}"
  local dir="$work/$name"
  mkdir -p "$dir"
  cat > "$dir/recipe.yaml" <<YAML
seed: 4
dataset: {name: mnist, root: '$data', validation: 40, preprocess: $preprocess}
layers:
$layers
head: {name: softmax, epochs: 3, lr: 0.05}
stages: [{train: {checkpoint_seconds: 0.05}}, evaluate]
YAML
  "$hebbkit" run "$dir/recipe.yaml" --out "$dir/whole" --threads 1 --progress lines >"$dir/whole.txt" 2>&1 \
    || fail "$name: the uninterrupted run failed"

  "$hebbkit" run "$dir/recipe.yaml" --out "$dir/killed" --threads 1 --progress lines >"$dir/killed.txt" 2>&1 &
  local pid=$! done_=0
  for _ in $(seq 1200); do
    done_=$(grep -o '"epochs_done": [0-9]*' "$dir/killed/model/partial.json" 2>/dev/null | grep -o '[0-9]*$')
    [ -n "$done_" ] && [ "$done_" -ge "$wait_epochs" ] && break
    sleep 0.02
  done
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  [ -n "$done_" ] && [ "$done_" -ge "$wait_epochs" ] || fail "$name: no checkpoint past epoch $wait_epochs before the kill"
  grep -q '"status": "running"' "$dir/killed/manifest.json" || fail "$name: killed run's manifest does not say running"
  "$hebbkit" runs "$dir" | grep -E '^killed +killed ' || fail "$name: hebbkit runs does not show the run as killed"

  "$hebbkit" run --resume "$dir/killed" --progress lines >"$dir/resumed.txt" 2>&1 || fail "$name: the resumed run failed"
  grep -q "continuing from the checkpoint in model/ taken after epoch" "$dir/killed/log.txt" \
    || fail "$name: the resumed run did not continue inside the layer"
  grep -q '"status": "completed"' "$dir/killed/manifest.json" || fail "$name: resumed run not completed"
  [ ! -e "$dir/killed/model/partial.json" ] || fail "$name: the checkpoint inside the layer was left behind"
  for f in $files head_weight.npy head_bias.npy; do
    cmp -s "$dir/whole/model/$f" "$dir/killed/model/$f" || fail "$name: $f differs from the uninterrupted run"
  done
  for key in train_accuracy val_accuracy test_accuracy; do
    a=$(grep -o "\"$key\": [0-9.e-]*" "$dir/whole/summary.json")
    b=$(grep -o "\"$key\": [0-9.e-]*" "$dir/killed/summary.json")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "$name: $key: uninterrupted '$a', resumed '$b'"
  done
  echo "ok: $name killed after epoch $done_ of its layer, resumed, identical weights and accuracies"
}

case_ krotov "  - rule: {name: krotov, hidden: 30, k: 3, epochs: 5}
  - rule: {name: krotov, hidden: 200, k: 3, epochs: 1500, batch: 20, homeostasis: 0.01}" \
  "layer0_weights.npy layer1_weights.npy" 20

# forward_forward trains its own layers one after another: the kill falls in its second.
case_ ff "  - rule: {name: forward_forward, sizes: [40, 40], epochs: 400, batch: 50, lr: 0.01}" \
  "layer0_ff0_weight.npy layer0_ff1_weight.npy layer0_ff1_bias.npy" 420

# backprop through fit_classifier: parameters, SGD momentum and batch-norm statistics.
case_ backprop "  - rule: {name: backprop, model: control, epochs: 600, batch: 60, optimizer: sgd, lr: 0.05}" \
  "layer0_1_running_mean.npy layer0_1_running_var.npy layer0_2_weight.npy" 40

# Conv layers on images: the kernels and the running batch-norm statistics continue exactly.
case_ krotov_conv "  - rule: {name: softhebb, kernels: 4, kernel: 3, padding: 1, epochs: 2, pool: max, pool_size: 2}
  - rule: {name: krotov_conv, kernels: 6, kernel: 3, epochs: 600, batch: 20}" \
  "layer0_weights.npy layer1_weights.npy layer1_input_norm_mean.npy layer1_input_norm_var.npy" 20 "[]"
case_ softhebb "  - rule: {name: krotov_conv, kernels: 4, kernel: 3, epochs: 2, pool: max, pool_size: 2}
  - rule: {name: softhebb, kernels: 6, kernel: 3, padding: 1, epochs: 600, batch: 20}" \
  "layer0_weights.npy layer1_weights.npy layer1_input_norm_mean.npy layer1_input_norm_var.npy" 20 "[]"

# scff trains its layers greedily from fresh pairs every minibatch: the kill falls in its second.
case_ scff "  - rule: {name: scff, sizes: [30, 20], epochs: [3, 150], batch: 20, decay_every: [7]}" \
  "layer0_scff0_weight.npy layer0_scff1_weight.npy layer0_scff1_bias.npy" 20 "[]"

"$hebbkit" run --resume "$work/krotov/killed" >"$work/again.txt" 2>&1; code=$?
[ "$code" -eq 2 ] && grep -q "nothing to resume" "$work/again.txt" || fail "resuming a completed run: exit $code"

# Two processes never work in one run folder: a second resume while the first holds the
# folder's lock is refused naming the holder, and a SIGKILL releases the lock at once.
# The race's layer is made endless (a million epochs), so no run can complete between the
# checks and the kills however fast the machine; it ends by SIGTERM instead.
race="$work/krotov/race"
sed 's/epochs: 1500/epochs: 1000000/' "$work/krotov/recipe.yaml" >"$work/krotov/endless.yaml"
"$hebbkit" run "$work/krotov/endless.yaml" --out "$race" --threads 1 --progress lines >"$work/race1.txt" 2>&1 &
pid=$!
for _ in $(seq 1000); do grep -q '"epochs_done"' "$race/model/partial.json" 2>/dev/null && break; sleep 0.02; done
kill -KILL "$pid"; wait "$pid" 2>/dev/null
"$hebbkit" run --resume "$race" --threads 1 --progress lines >"$work/race2.txt" 2>&1 &
pid=$!
for _ in $(seq 1000); do grep -q "continuing from the checkpoint" "$race/log.txt" 2>/dev/null && break; sleep 0.02; done
grep -q "continuing from the checkpoint" "$race/log.txt" || fail "race: the first resume did not start"
"$hebbkit" run --resume "$race" >"$work/race3.txt" 2>&1; code=$?
# Refused by the manifest's word (still running), or in the narrow window before it by the lock.
[ "$code" -eq 2 ] && grep -Eq "(still running|in use by another hebbkit) \(pid $pid on" "$work/race3.txt" \
  || fail "race: a second resume while the first runs: exit $code, $(cat "$work/race3.txt")"
lines=$(wc -l <"$race/metrics.jsonl")
kill -KILL "$pid"; wait "$pid" 2>/dev/null
"$hebbkit" runs "$work/krotov" | grep -E '^race +killed ' || fail "race: the killed resume does not show as killed"
"$hebbkit" run --resume "$race" --threads 1 >"$work/race4.txt" 2>&1 &
pid=$!
for _ in $(seq 1000); do [ "$(grep -c "continuing from the checkpoint" "$race/log.txt")" -ge 2 ] && break; sleep 0.02; done
[ "$(grep -c "continuing from the checkpoint" "$race/log.txt")" -ge 2 ] || fail "race: resuming after the kill did not start"
kill -TERM "$pid"; wait "$pid"; code=$?
[ "$code" -eq 130 ] || fail "race: the resume after the kill ended with $code on SIGTERM, not 130"
grep -q '"status": "interrupted"' "$race/manifest.json" || fail "race: not interrupted"
echo "ok: a second resume is refused while the first holds the folder (metrics had $lines lines), a killed holder frees it"
