#!/usr/bin/env bash
# run_nproc.sh HEBBKIT DATA_ROOT WORKDIR NPY_CLOSE: `hebbkit run --nproc 2` (and 3) trains what
# the one-process run trains (weights to 1e-5 relative, the same test accuracy, evaluated
# in slices) with one run folder; a recipe that cannot train data-parallel is refused
# before anything runs; a rank killed part-way ends the run within the timeout with an
# error naming it, the run says failed, and `--resume` with another number of processes
# finishes it to the same weights.
set -u
hebbkit="$1" data="$2" work="$3" npy_close="$4"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; tail -20 "$work"/*.txt "$work"/*/ranks/*/console.txt 2>/dev/null; exit 1; }

# recipe FILE EPOCHS HEAD: a Krotov layer and a head on tiny MNIST.
recipe() {
  cat > "$1" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: [flatten, center, unit_norm]}
layers:
  - rule: {name: krotov, hidden: 30, epochs: $2, batch: 25, eps0: 0.05}
head: $3
stages: [{train: {checkpoint_seconds: 0.05}}, evaluate]
YAML
}
test_accuracy() { grep -o '"test_accuracy": [0-9.e-]*' "$1/summary.json"; }
# same_model A B: every weight of two run folders' models within 1e-5 relative; the
# generator states byte for byte (every process draws the same numbers).
same_model() {
  local f
  for f in "$1"/model/*.npy; do
    case "$(basename "$f")" in
      *generator* | rng_state.npy) cmp -s "$f" "$2/model/$(basename "$f")" || fail "$(basename "$f") differs: $1 vs $2" ;;
      *) "$npy_close" "$f" "$2/model/$(basename "$f")" 1e-5 || fail "$(basename "$f"): $1 vs $2 beyond 1e-5" ;;
    esac
  done
}

# equal_runs NAME: $work/NAME.yaml in one process and in two: the same model and test accuracy.
equal_runs() {
  local name="$1"
  "$hebbkit" run "$work/$name.yaml" --out "$work/$name-one" --threads 1 >"$work/$name-one.txt" 2>&1 \
    || fail "$name: one process"
  "$hebbkit" run "$work/$name.yaml" --out "$work/$name-two" --nproc 2 --threads 1 >"$work/$name-two.txt" 2>&1 \
    || fail "$name: two processes"
  same_model "$work/$name-one" "$work/$name-two"
  [ "$(test_accuracy "$work/$name-one")" = "$(test_accuracy "$work/$name-two")" ] \
    || fail "$name: test accuracy $(test_accuracy "$work/$name-one") vs $(test_accuracy "$work/$name-two")"
}

# Equivalence: Krotov with the Krotov head, and with the softmax head.
# The softmax head with dropout, batch norm and mirrored images: masks, statistics and the
# choice of each row's mirror of the global minibatch.
for head in "{name: krotov, epochs: 4, batch: 30}" \
            "{name: softmax, epochs: 3, lr: 0.05, dropout: 0.2, batch_norm: true, mirror: true}"; do
  name=$(echo "$head" | grep -o 'name: [a-z]*' | cut -c7-)
  recipe "$work/$name.yaml" 3 "$head"
  equal_runs "$name"
  grep -q '"processes": 2' "$work/$name-two/manifest.json" || fail "$name: the manifest does not record 2 processes"
  grep -q '"backend": "gloo"' "$work/$name-two/manifest.json" || fail "$name: the manifest does not record gloo"
  [ -s "$work/$name-two/ranks/1/log.txt" ] || fail "$name: rank 1 wrote no log of its own"
  [ "$name" = krotov ] || grep -q "features of the training images mirrored" "$work/$name-two/log.txt" \
    || fail "$name: the host computed no mirrored features for the head"
  [ "$(ls "$work/$name-two" | grep -v '^ranks$')" = "$(ls "$work/$name-one")" ] \
    || fail "$name: the run folders hold different files: $(ls "$work/$name-two")"
done

# SoftHebb, two conv layers: each process's shard of every minibatch, dW and the input
# batch norm's statistics summed over them; the second layer's inputs computed per shard.
# The head is SGD's: Adam divides by the root of tiny second moments, which makes float
# noise of 1e-7 in these features 5e-6 in its weights even between 1 and 2 threads of one
# process.
cat > "$work/softhebb.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: []}
layers:
  - rule: {name: softhebb, kernels: 6, kernel: 3, padding: 1, epochs: 2, batch: 10, pool: max, pool_size: 2}
  - rule: {name: softhebb, kernels: 8, kernel: 3, padding: 1, epochs: 2, batch: 10, pool: max, pool_size: 2}
head: {name: softmax, epochs: 2, optimizer: sgd, lr: 0.05, momentum: 0.9}
stages: [train, evaluate]
YAML
equal_runs softhebb

# Backprop, an MLP with dropout (the global minibatch's masks) trained end to end through
# fit_classifier, read out as it is.
cat > "$work/backprop.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40}
layers: [{rule: {name: backprop, hidden: [16], dropout: 0.3, epochs: 2, batch: 20, lr: 0.05}}]
head: {name: readout}
stages: [train, evaluate]
YAML
equal_runs backprop

# Forward-Forward, greedy with peer normalisation and simultaneous, with its goodness head.
for schedule in "schedule: greedy, peer_norm: 0.03" "schedule: simultaneous"; do
  name=ff-$(echo "$schedule" | cut -d' ' -f2 | tr -d ,)
  cat > "$work/$name.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40}
layers: [{rule: {name: forward_forward, sizes: [20, 20], epochs: 2, batch: 50, $schedule}}]
head: {name: ff_goodness}
stages: [train, evaluate]
YAML
  equal_runs "$name"
done

# SCFF: every process draws the global minibatch's pairs and trains on its rows of them.
# The head is SGD's (see softhebb above).
cat > "$work/scff.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: []}
layers: [{rule: {name: scff, sizes: [30, 20], epochs: [2, 2], batch: 20, decay_every: [7]}}]
head: {name: softmax, epochs: 2, optimizer: sgd, lr: 0.05, momentum: 0.9}
stages: [train, evaluate]
YAML
equal_runs scff

# Conv SCFF: mirrored images and negatives drawn for the global minibatch; the upper layer's
# fresh pairs made of the whole minibatch's stream on every process, each training its rows.
cat > "$work/scff_conv.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: []}
layers:
  - rule: {name: scff_conv, channels: [4, 6], kernel: [3], padding: [1], activation: [triangle, relu], pool: [max, avg],
           pool_size: [2], pool_stride: [2], pool_padding: [0], pair_layers: [0, 1], epochs: [1, 1], batch: 20,
           lr: [0.01], lr_decay: [1], decay_every: [100], weight_decay: [0], theta_pos: [1], theta_neg: [2],
           penalty: [0.001]}
head: {name: softmax, epochs: 2, optimizer: sgd, lr: 0.05, momentum: 0.9}
stages: [train, evaluate]
YAML
equal_runs scff_conv

# Conv Krotov: each process the patches of its shard's images; ds, xx and the input batch
# norm's statistics summed over the processes.
cat > "$work/krotov_conv.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: []}
layers: [{rule: {name: krotov_conv, kernels: 6, kernel: 3, epochs: 2, batch: 25, batch_norm: true, pool: max}}]
head: {name: softmax, epochs: 2, optimizer: sgd, lr: 0.05, momentum: 0.9}
stages: [train, evaluate]
YAML
equal_runs krotov_conv

# Three processes: shards of unequal size, and Gloo's halving-doubling instead of the ring.
"$hebbkit" run "$work/krotov.yaml" --out "$work/krotov-three" --nproc 3 --threads 1 >"$work/krotov-three.txt" 2>&1 \
  || fail "krotov: three processes"
same_model "$work/krotov-one" "$work/krotov-three"

# Evaluation is sharded: each process scores its slice of a split and the counts are
# summed; saved logits are put together on rank 0 alone.
evaluations="{evaluate: {splits: [val]}}, {evaluate: {splits: [train, test], save_logits: true}}"
sed "s/^stages: .*/stages: [{train: {checkpoint_seconds: 0.05}}, $evaluations]/" "$work/krotov.yaml" >"$work/evals.yaml"
equal_runs evals
for split in train test; do
  "$npy_close" "$work/evals-one/artifacts/logits_$split.npy" "$work/evals-two/artifacts/logits_$split.npy" 1e-5 \
    || fail "logits_$split.npy of two processes differ from one's"
done
grep -q "test accuracy" "$work/evals-two/ranks/1/log.txt" || fail "rank 1 did not score its slice of the test split"
[ ! -e "$work/evals-two/ranks/1/artifacts/logits_test.npy" ] || fail "rank 1 saved logits of its own"
# A split smaller than the world leaves a process with no rows: it still takes part.
"$hebbkit" run "$work/evals.yaml" --out "$work/evals-three" --nproc 3 --threads 1 --set dataset.validation=2 \
  >"$work/evals-three.txt" 2>&1 || fail "three processes on a validation split of 2 images"
grep -q '"val_accuracy"' "$work/evals-three/summary.json" || fail "no val_accuracy from a split of 2 images"
# A run stopped after the first evaluate resumes with only the second, on every process:
# rank 0, whose records alone say which stages are done, tells the others.
perl -0pi -e 's/"evaluate",\n\s*"evaluate"/"evaluate"/' "$work/evals-two/summary.json"
perl -pi -e 's/"status": "completed"/"status": "interrupted"/' "$work/evals-two/manifest.json" "$work/evals-two/summary.json"
"$hebbkit" run --resume "$work/evals-two" --nproc 2 --threads 1 >"$work/evals-resumed.txt" 2>&1 \
  || fail "the resume of a run stopped between its evaluations"
grep -q "stage 1 (evaluate) finished before the resume; skipped" "$work/evals-two/ranks/1/log.txt" \
  || fail "rank 1 was not told that the first evaluate was done"
[ "$(grep -c "val accuracy" "$work/evals-two/ranks/1/log.txt")" -eq 1 ] || fail "rank 1 evaluated val again"
[ "$(test_accuracy "$work/evals-one")" = "$(test_accuracy "$work/evals-two")" ] || fail "the resumed test accuracy differs"

# Refused by name before a folder exists: a rule that cannot train data-parallel as set.
cat > "$work/dropout.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: []}
layers: [{rule: {name: backprop, model: simple_cnn, dropout: 0.5, epochs: 1}}]
head: {name: readout}
stages: [train]
YAML
"$hebbkit" run "$work/dropout.yaml" --out "$work/refused" --nproc 2 >"$work/refused.txt" 2>&1; code=$?
[ "$code" -eq 2 ] || fail "simple_cnn with dropout and --nproc 2: exit $code, not 2"
grep -q "layers.0.rule (backprop): model: simple_cnn with dropout > 0" "$work/refused.txt" \
  || fail "the refusal does not name the rule: $(cat "$work/refused.txt")"
[ ! -e "$work/refused" ] || fail "a refused run made its folder"

# A rank killed part-way: rank 0 ends, names it, the run says failed; a resume with one
# process finishes it to the weights of the run left alone.
recipe "$work/long.yaml" 400 "{name: softmax, epochs: 3, lr: 0.05}"
"$hebbkit" run "$work/long.yaml" --out "$work/whole" --threads 1 >"$work/whole.txt" 2>&1 || fail "the long run failed"
"$hebbkit" run "$work/long.yaml" --out "$work/killed" --nproc 2 --threads 1 >"$work/killed.txt" 2>&1 &
pid=$! done_=0
for _ in $(seq 1500); do
  done_=$(grep -o '"epochs_done": [0-9]*' "$work/killed/model/partial.json" 2>/dev/null | grep -o '[0-9]*$')
  [ -n "$done_" ] && [ "$done_" -ge 3 ] && break
  sleep 0.02
done
[ -n "$done_" ] && [ "$done_" -ge 3 ] || fail "no checkpoint of the two-process run to kill after"
rank1=$(pgrep -f "run-rank $work/killed 1 ") || fail "rank 1's process not found"
start=$(date +%s)
kill -KILL "$rank1"
wait "$pid"; code=$?
took=$(( $(date +%s) - start ))
[ "$code" -eq 1 ] || fail "rank 0 after rank 1 was killed: exit $code, not 1"
[ "$took" -lt 60 ] || fail "rank 0 took $took s to end after rank 1 was killed"
grep -q "rank 1 (pid $rank1) killed by signal 9" "$work/killed.txt" || fail "the error does not name rank 1 and its end"
grep -q '"status": "failed"' "$work/killed/manifest.json" || fail "the manifest does not say failed"
"$hebbkit" run --resume "$work/killed" --nproc 1 >"$work/resumed.txt" 2>&1 || fail "the resume with one process failed"
grep -q "continuing from the checkpoint" "$work/killed/log.txt" || fail "the resume did not continue from a checkpoint"
same_model "$work/whole" "$work/killed"
echo "ok: 2 and 3 processes equal 1 (sharded evaluation and logits; krotov, krotov_conv, scff_conv, softhebb, backprop, forward_forward greedy and simultaneous, scff; softmax, krotov, readout and ff_goodness heads); refusals name the plugin; a killed rank ended the run in $took s and a 1-process resume finished it to the same weights"
