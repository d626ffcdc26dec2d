#!/usr/bin/env bash
# sweep.sh HEBBKIT DATA_ROOT WORKDIR: a tiny sweep end to end on the local executor —
# results, best recipe and plot; a run-time failure recorded while the sweep goes on;
# a second run that only continues; the median rule pruning a poor trial; Ctrl-C and a
# continued sweep that loses nothing finished.
set -u
hebbkit="$1" data="$2" work="$3"
export HEBBKIT_DATA="$data"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAILED: $*"; for f in "$work"/*.txt; do echo "--- $f"; cat "$f"; done; exit 1; }
cat > "$work/tiny.yaml" <<'YAML'
seed: 0
dataset: {name: mnist, validation: 40}
head: {name: softmax, epochs: 3, lr: 0.05}
stages: [train, evaluate]
sweep:
  params:
    head.lr: [0.05, 0.2]
YAML

# 1. Two workers; one trial fails at run time (more validation images than there are).
"$hebbkit" sweep "$work/tiny.yaml" --param dataset.validation=40,100000 --jobs 2 --threads 1 --out "$work/s1" \
  >"$work/s1.txt" 2>&1 || fail "sweep exit $?"
[ "$(grep -c ',completed,' "$work/s1/results.csv")" -eq 2 ] || fail "two completed trials expected"
[ "$(grep -c ',failed,' "$work/s1/results.csv")" -eq 2 ] || fail "two failed trials expected"
grep -q 'failed,.*validation' "$work/s1/results.csv" || fail "the failure's reason is not recorded"
for f in best.yaml objective.png summary.json sweep.yaml base.yaml; do [ -s "$work/s1/$f" ] || fail "$f missing"; done
grep -q 'trial +status +head.lr +dataset.validation +val_accuracy' "$work/s1.txt" -E || fail "no table printed"
"$hebbkit" validate "$work/s1/best.yaml" >/dev/null 2>&1 || fail "best.yaml is not a valid recipe"
"$hebbkit" runs "$work" | grep -Eq 's1 \[sweep, 4 trials\] +completed' || fail "hebbkit runs does not show the sweep"

# 1b. A seed dimension: each learning rate's mean and spread over its seeds.
"$hebbkit" sweep "$work/tiny.yaml" --param seed=0,1 --jobs 2 --threads 1 --out "$work/seeds" >"$work/seeds.txt" 2>&1 \
  || fail "seed sweep exit $?"
[ "$(grep -c '^head.lr=0.05,2,' "$work/seeds/seeds.csv")" -eq 1 ] || fail "seeds.csv lacks lr 0.05 over 2 seeds"
[ "$(grep -c '^head.lr=0.2,2,' "$work/seeds/seeds.csv")" -eq 1 ] || fail "seeds.csv lacks lr 0.2 over 2 seeds"
grep -q 'over seeds (seeds.csv)' "$work/seeds.txt" || fail "no table over seeds printed"
grep -q '"over_seeds"' "$work/seeds/summary.json" || fail "summary.json lacks over_seeds"

# 2. The same command again: nothing new runs.
"$hebbkit" sweep "$work/tiny.yaml" --param dataset.validation=40,100000 --jobs 2 --threads 1 --out "$work/s1" \
  >"$work/s1_again.txt" 2>&1 || fail "second sweep exit $?"
grep -q 'continuing the sweep: 4 trial(s) finished, 0 to run again' "$work/s1_again.txt" || fail "not continued"
grep -q 'started' "$work/s1_again.txt" && fail "a finished trial ran again"
# A different search in the same folder is refused.
"$hebbkit" sweep "$work/tiny.yaml" --param head.epochs=1,2 --out "$work/s1" >"$work/s1_other.txt" 2>&1
[ $? -eq 2 ] && grep -q 'holds a different sweep' "$work/s1_other.txt" || fail "a different sweep was not refused"

# 3. The median rule: the good learning rate first, then one that learns nothing.
"$hebbkit" sweep "$work/tiny.yaml" --param head.lr=0.05,0.0000001 --param head.epochs=6 --prune median \
  --set sweep.prune.warmup=0 --set sweep.prune.startup=1 --threads 1 --out "$work/s2" >"$work/s2.txt" 2>&1 \
  || fail "pruning sweep exit $?"
grep -q '^0001,pruned,' "$work/s2/results.csv" || fail "the poor trial was not pruned"
grep -q '"status": "pruned"' "$work/s2/trials/0001/manifest.json" || fail "the trial's run folder does not say pruned"

# 4. Ctrl-C stops the workers cleanly; the same command continues and loses nothing.
cat > "$work/long.yaml" <<'YAML'
dataset: {name: mnist, validation: 40}
head: {name: softmax, epochs: 40, batch: 1}
stages: [train, evaluate]
YAML
"$hebbkit" sweep "$work/long.yaml" --param head.lr=0.01,0.02,0.03 --jobs 1 --threads 1 --out "$work/s3" >"$work/s3.txt" 2>&1 &
pid=$!
for _ in $(seq 3000); do grep -q 'training head' "$work/s3/trials/0001/log.txt" 2>/dev/null && break; sleep 0.02; done
# Freeze the trial so that it cannot finish before the interrupt reaches it (a trial
# takes under a second on a fast machine), and let it go once the sweep has signalled it.
tpid=$(grep -Eo '"pid": [0-9]+' "$work/s3/trials/0001/manifest.json" | grep -Eo '[0-9]+$' | head -1)
kill -STOP "$tpid"
kill -INT "$pid"
for _ in $(seq 500); do grep -q 'stopping the sweep' "$work/s3.txt" && break; sleep 0.02; done
sleep 0.3
kill -CONT "$tpid"
wait "$pid"; code=$?
[ "$code" -eq 130 ] || fail "interrupted sweep exit $code"
grep -q '^0000,completed,' "$work/s3/results.csv" || fail "the finished trial is not kept"
grep -q '"status": "interrupted"' "$work/s3/trials/0001/manifest.json" || fail "the running trial was not stopped cleanly"
"$hebbkit" sweep "$work/long.yaml" --param head.lr=0.01,0.02,0.03 --jobs 1 --threads 1 --out "$work/s3" >"$work/s3_again.txt" 2>&1 \
  || fail "continued sweep exit $?"
grep -q 'continuing the sweep: 1 trial(s) finished, 1 to run again' "$work/s3_again.txt" || fail "not continued"
grep -q 'trial 0000 started' "$work/s3_again.txt" && fail "the finished trial ran again"
[ "$(grep -c ',completed,' "$work/s3/results.csv")" -eq 3 ] || fail "three completed trials expected"
grep -q 'resuming\|continuing' "$work/s3/trials/0001/log.txt" || fail "the stopped trial did not continue from its folder"

# 5. SIGKILL of the sweep itself: its worker lives on (own process group) and finishes; the
# same command watches it instead of starting the trial twice, then runs the rest.
"$hebbkit" sweep "$work/long.yaml" --param head.lr=0.01,0.02 --jobs 1 --threads 1 --out "$work/s4" >"$work/s4.txt" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q 'training head' "$work/s4/trials/0000/log.txt" 2>/dev/null && break; sleep 0.1; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
"$hebbkit" sweep "$work/long.yaml" --param head.lr=0.01,0.02 --jobs 1 --threads 1 --out "$work/s4" >"$work/s4_again.txt" 2>&1 \
  || fail "sweep after SIGKILL exit $?"
grep -Eq 'continuing the sweep: .*(1 still running|1 trial\(s\) finished)' "$work/s4_again.txt" || fail "the orphaned trial was not found"
grep -q 'trial 0000 started' "$work/s4_again.txt" && fail "the orphaned trial was started twice"
[ "$(grep -c ',completed,' "$work/s4/results.csv")" -eq 2 ] || fail "two completed trials expected after SIGKILL"
echo "ok: sweeps run, record failures, continue, prune and survive Ctrl-C and SIGKILL"
