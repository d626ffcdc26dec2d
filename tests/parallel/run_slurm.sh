#!/usr/bin/env bash
# run_slurm.sh HEBBKIT DATA_ROOT WORKDIR NPY_CLOSE: `srun --ntasks 2 hebbkit run` on a real
# one-node Slurm (tests/support/slurm_cluster.sh) is one data-parallel run: task 0 writes the
# run folder, task 1 trains alongside it, and the weights equal one process's to 1e-5
# relative. Tasks whose recipes differ both refuse to train, naming the difference; so do
# tasks given a recipe that cannot train data-parallel, at once. A sweep with --tasks 2 runs
# each trial as such a run. Exits 77 (skipped) where Slurm is not installed.
set -u
hebbkit="$1" data="$2" work="$3" npy_close="$4"
source "$(dirname "$0")/../support/slurm_cluster.sh"
start_slurm "$work"

cat > "$work/krotov.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: [flatten, center, unit_norm]}
layers:
  - rule: {name: krotov, hidden: 30, epochs: 3, batch: 25, eps0: 0.05}
head: {name: krotov, epochs: 4, batch: 30}
stages: [train, evaluate]
YAML
"$hebbkit" run "$work/krotov.yaml" --out "$work/one" --threads 1 >"$work/one.txt" 2>&1 || fail "one process"
srun --ntasks 2 --cpus-per-task 1 --time 5 "$hebbkit" run "$work/krotov.yaml" --out "$work/two" >"$work/two.txt" 2>&1 \
  || fail "srun --ntasks 2: exit $?"
for f in "$work"/one/model/*.npy; do
  case "$(basename "$f")" in
    *generator* | rng_state.npy) cmp -s "$f" "$work/two/model/$(basename "$f")" || fail "$(basename "$f") differs" ;;
    *) "$npy_close" "$f" "$work/two/model/$(basename "$f")" 1e-5 || fail "$(basename "$f") beyond 1e-5" ;;
  esac
done
grep -q '"processes": 2' "$work/two/manifest.json" || fail "the manifest does not record 2 processes"
grep -q "Slurm's tasks, meeting at" "$work/two/log.txt" || fail "task 0 did not meet the others through Slurm"
[ -s "$work/two/ranks/1/log.txt" ] || fail "task 1 wrote no log of its own"

# Each task its own seed: the recipes differ, and neither trains.
srun --ntasks 2 --cpus-per-task 1 --time 5 bash -c "exec '$hebbkit' run '$work/krotov.yaml' --out '$work/mixed' \
  --set seed=\$SLURM_PROCID" >"$work/mixed.txt" 2>&1 && fail "tasks with different recipes trained"
[ "$(grep -c 'rank [01] and rank [01] of 2 differ: recipe=' "$work/mixed.txt")" -ge 2 ] \
  || fail "the tasks did not both name the difference: $(cat "$work/mixed.txt")"
# A recipe that cannot train data-parallel: each task refuses it at once, naming the rule.
cat > "$work/dropout.yaml" <<YAML
seed: 3
dataset: {name: mnist, root: '$data', validation: 40, preprocess: []}
layers: [{rule: {name: backprop, model: simple_cnn, dropout: 0.5, epochs: 1}}]
head: {name: readout}
stages: [train]
YAML
start=$(date +%s)
srun --ntasks 2 --cpus-per-task 1 --time 5 "$hebbkit" run "$work/dropout.yaml" --out "$work/dropout" \
  >"$work/dropout.txt" 2>&1 && fail "tasks trained a recipe that cannot train data-parallel"
took=$(( $(date +%s) - start ))
[ "$(grep -c 'layers.0.rule (backprop): model: simple_cnn with dropout > 0' "$work/dropout.txt")" -eq 2 ] \
  || fail "the tasks did not both refuse the recipe: $(cat "$work/dropout.txt")"
[ "$took" -lt 30 ] || fail "the refusal took $took s"

# A sweep whose trials take two tasks each: each trial is a data-parallel run.
"$hebbkit" sweep "$work/krotov.yaml" --param head.lr=0.01,0.05 --executor slurm --tasks 2 --jobs 1 --threads 1 \
  --poll 0.5 --out "$work/sweep" >"$work/sweep.txt" 2>&1 || fail "sweep with --tasks 2: exit $?"
[ "$(grep -c ',completed,' "$work/sweep/results.csv")" -eq 2 ] || fail "two completed trials expected"
for trial in 0000 0001; do
  grep -q '"processes": 2' "$work/sweep/trials/$trial/manifest.json" || fail "trial $trial did not run in 2 processes"
  [ -s "$work/sweep/trials/$trial/ranks/1/log.txt" ] || fail "trial $trial: task 1 wrote no log"
done
grep -q 'srun --ntasks=2' "$work/sweep/slurm/"array_*.sh || fail "the array script does not start 2 tasks"
echo "ok: srun --ntasks 2 equals one process; tasks with different recipes, or a recipe that cannot be data-parallel, both refuse; a sweep's trials ran as 2 tasks each"
