#!/usr/bin/env bash
# sweep_fake_slurm.sh HEBBKIT RECIPE WORKDIR: a Slurm that hangs, fails or never runs a job
# does not hang the sweep. Every sbatch/squeue is killed after --slurm-timeout; a task stuck
# in the queue (or behind a queue that cannot be read) past --slurm-stuck, or requeued again
# and again, is cancelled and its trial failed with Slurm's reason; the sweep then exits 1.
# The first Ctrl-C stops a sweep whose sbatch hangs at once. Uses tests/cli/fake_slurm.
set -u
hebbkit="$1" recipe="$2" work="$3"
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$work" && mkdir -p "$work"
export PATH="$here/fake_slurm:$PATH"
fail() { echo "FAIL: $*"; exit 1; }

# case NAME MODE EXPECTED_CODE MAX_SECONDS PATTERN [sweep options...]
case_() {
  local name="$1" mode="$2" want="$3" max="$4" pattern="$5"; shift 5
  mkdir -p "$work/$name.state"
  local start=$SECONDS
  FAKE_SLURM="$mode" FAKE_SLURM_DIR="$work/$name.state" "$hebbkit" sweep "$recipe" --param head.lr=0.1 \
    --executor slurm --poll 0.2 --out "$work/$name" "$@" >"$work/$name.txt" 2>&1
  local code=$? took=$((SECONDS - start))
  [ "$code" -eq "$want" ] || fail "$name: exit $code, expected $want: $(cat "$work/$name.txt")"
  [ "$took" -le "$max" ] || fail "$name: took ${took}s, more than ${max}s"
  tr '\n' ' ' <"$work/$name.txt" | grep -Eq -- "$pattern" || fail "$name: output does not match /$pattern/: $(cat "$work/$name.txt")"
  grep -q '"status": "running"' "$work/$name/manifest.json" && fail "$name: the sweep's manifest still says running"
  echo "ok: $name (exit $code in ${took}s)"
}

case_ hanging_sbatch hang 1 10 "sbatch failed .*did not answer within 1 s \\(killed with its process group\\)" \
  --slurm-timeout 1
grep -q '"status": "failed"' "$work/hanging_sbatch/manifest.json" || fail "hanging_sbatch: manifest not failed"

case_ hanging_squeue hang-squeue 1 20 "warning: squeue did not answer within 1 s.*trial 0000 failed: Slurm's queue could not be read for [0-9.]+ s \\(squeue did not answer" \
  --slurm-timeout 1 --slurm-stuck 2
grep -q "100" "$work/hanging_squeue.state/scancel.log" || fail "hanging_squeue: job 100 was not cancelled"

case_ failing_squeue fail-squeue 1 20 "warning: squeue exit code 1: slurm_load_jobs error: Unable to contact slurm controller.*trial 0000 failed: Slurm's queue could not be read.*given up: Slurm did not run them, or its queue could not be read" \
  --slurm-timeout 1 --slurm-stuck 2

case_ stuck_pending pending 1 20 "trial 0000 failed: cancelled by the sweep: Slurm task 100_0 waited [0-9.]+ s in the queue without running \\(state PENDING, reason: ReqNodeNotAvail, UnavailableNodes:node1\\)" \
  --slurm-stuck 2
grep -qx "100_0" "$work/stuck_pending.state/scancel.log" || fail "stuck_pending: task 100_0 was not cancelled"
grep -q "ReqNodeNotAvail" "$work/stuck_pending/results.csv" || fail "stuck_pending: results.csv lacks Slurm's reason"

case_ requeued_forever requeue 1 20 "trial 0000 failed: cancelled by the sweep: Slurm task 100_0 was requeued 4 times without finishing \\(state PENDING, reason: BeginTime\\)" \
  --slurm-stuck 60

# Held by the array's own cap is not stuck: the task is waited for past --slurm-stuck.
case_ own_cap cap 0 20 "trial 0000 failed: Slurm task 100_0 ended" --slurm-stuck 1
grep -q "cancelled by the sweep" "$work/own_cap.txt" && fail "own_cap: a task held by the array's cap was cancelled"

# The first Ctrl-C ends a sweep whose sbatch hangs, at once and cleanly.
mkdir -p "$work/ctrl_c.state"
FAKE_SLURM=hang FAKE_SLURM_DIR="$work/ctrl_c.state" "$hebbkit" sweep "$recipe" --param head.lr=0.1 --executor slurm \
  --out "$work/ctrl_c" >"$work/ctrl_c.txt" 2>&1 &
pid=$!
for _ in $(seq 100); do pgrep -f "sleep 600" >/dev/null && break; sleep 0.1; done
start=$SECONDS
kill -INT "$pid"
wait "$pid"; code=$?
[ "$code" -eq 130 ] || fail "ctrl_c: exit $code, expected 130: $(cat "$work/ctrl_c.txt")"
[ $((SECONDS - start)) -le 3 ] || fail "ctrl_c: took $((SECONDS - start))s to stop"
grep -q '"status": "interrupted"' "$work/ctrl_c/manifest.json" || fail "ctrl_c: manifest not interrupted"
echo "ok: the first Ctrl-C stops a sweep whose sbatch hangs"

# Ctrl-C with a task in the queue: the tasks are told to stop (scancel --signal=TERM) and
# the queue is still read while they end, so the sweep ends as soon as they have.
mkdir -p "$work/ctrl_c_queued.state"
FAKE_SLURM=pending FAKE_SLURM_DIR="$work/ctrl_c_queued.state" "$hebbkit" sweep "$recipe" --param head.lr=0.1 \
  --executor slurm --poll 0.5 --slurm-stuck 0 --out "$work/ctrl_c_queued" >"$work/ctrl_c_queued.txt" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$work/ctrl_c_queued.state/squeue_calls" ] && break; sleep 0.1; done
start=$SECONDS
kill -INT "$pid"
wait "$pid"; code=$?
[ "$code" -eq 130 ] || fail "ctrl_c_queued: exit $code, expected 130: $(cat "$work/ctrl_c_queued.txt")"
[ $((SECONDS - start)) -le 4 ] || fail "ctrl_c_queued: took $((SECONDS - start))s to stop (the queue was not read while stopping?)"
grep -q -- "--signal=TERM --full 100" "$work/ctrl_c_queued.state/scancel.log" || fail "ctrl_c_queued: the tasks were not told to stop"
echo "ok: Ctrl-C with a task queued stops it through Slurm and ends when it has"
