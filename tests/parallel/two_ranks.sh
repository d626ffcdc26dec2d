#!/usr/bin/env bash
# two_ranks.sh FIT_TWO_RANKS WORKDIR: fit_classifier in two processes joined through c10d's
# Gloo equals it in one; when one process dies or hangs part-way, or was started for another
# number of processes, the other ends within its timeout with an error that says so,
# instead of waiting for ever.
set -u
bin="$1" work="$2"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; cat "$work"/*.txt 2>/dev/null; exit 1; }

"$bin" 0 2 "$work/port" >"$work/r0.txt" 2>&1 & p0=$!
"$bin" 1 2 "$work/port" >"$work/r1.txt" 2>&1 & p1=$!
wait "$p0"; c0=$?; wait "$p1"; c1=$?
[ "$c0" -eq 0 ] && [ "$c1" -eq 0 ] || fail "two ranks: exit $c0 and $c1"
grep -h "largest difference" "$work"/r0.txt "$work"/r1.txt
grep -q "rank 0 of 2: backend gloo$" "$work/r0.txt" || fail "a CPU run's backend is not gloo"

# Joined as a run on GPUs: NCCL where LibTorch has it, else Gloo saying why (CPU tensors
# here, so Gloo's ring reduces them either way and the weights still equal one process's).
rm -f "$work/port"
"$bin" 0 2 "$work/port" --cuda-world 1 >"$work/c0.txt" 2>&1 & p0=$!
"$bin" 1 2 "$work/port" --cuda-world 1 >"$work/c1.txt" 2>&1 & p1=$!
wait "$p0"; c0=$?; wait "$p1"; c1=$?
[ "$c0" -eq 0 ] && [ "$c1" -eq 0 ] || fail "two ranks joined for GPUs: exit $c0 and $c1"
grep -Eq "rank 0 of 2: backend (nccl|gloo \(CUDA tensors through host memory: this LibTorch was built without NCCL\))$" \
  "$work/c0.txt" || fail "a GPU run's backend is neither nccl nor gloo with the reason: $(cat "$work/c0.txt")"
grep -o "backend .*" "$work/c0.txt"

rm -f "$work/port"
start=$(date +%s)
"$bin" 0 2 "$work/port" --timeout-ms 5000 >"$work/k0.txt" 2>&1 & p0=$!
"$bin" 1 2 "$work/port" --timeout-ms 5000 --die-after-epochs 2 >"$work/k1.txt" 2>&1 & p1=$!
wait "$p1"; wait "$p0"; c0=$?
took=$(( $(date +%s) - start ))
[ "$c0" -eq 3 ] || fail "rank 0 after rank 1 died: exit $c0, not 3"
grep -q "rank 0 of 2: an all-reduce did not complete" "$work/k0.txt" || fail "rank 0's error does not say what happened"
[ "$took" -lt 40 ] || fail "rank 0 took ${took} s to give up"
dead="$took s"

rm -f "$work/port"
start=$(date +%s)
"$bin" 0 2 "$work/port" --timeout-ms 3000 >"$work/h0.txt" 2>&1 & p0=$!
"$bin" 1 2 "$work/port" --timeout-ms 3000 --hang-after-epochs 2 >"$work/h1.txt" 2>&1 & p1=$!
wait "$p0"; c0=$?
took=$(( $(date +%s) - start ))
kill -KILL "$p1"; wait "$p1" 2>/dev/null
[ "$c0" -eq 3 ] || fail "rank 0 while rank 1 hangs: exit $c0, not 3"
grep -q "rank 0 of 2: an all-reduce did not complete (waiting at most 3 s)" "$work/h0.txt" \
  || fail "rank 0's error does not say a peer hangs"
[ "$took" -lt 40 ] || fail "rank 0 took ${took} s to give up on a hanging peer"
hung="$took s"

# Started for different world sizes: the odd one says so at once, rank 0 gives up in time.
rm -f "$work/port"
start=$(date +%s)
"$bin" 0 2 "$work/port" --timeout-ms 3000 >"$work/s0.txt" 2>&1 & p0=$!
"$bin" 1 3 "$work/port" --timeout-ms 3000 >"$work/s1.txt" 2>&1; c1=$?
wait "$p0"; c0=$?
took=$(( $(date +%s) - start ))
[ "$c1" -eq 3 ] && [ "$c0" -eq 3 ] || fail "ranks of different world sizes: exit $c0 and $c1, not 3 and 3"
grep -q "rank 1 was started for 3 processes, but rank 0 for 2" "$work/s1.txt" || fail "rank 1 does not name the sizes"
grep -q "rank 0 of 2: the processes did not all join" "$work/s0.txt" || fail "rank 0 does not say rank 1 never joined"
[ "$took" -lt 40 ] || fail "ranks of different world sizes took ${took} s to end"
echo "ok: two processes equal one; a dead peer ends the other in $dead, a hanging one in $hung, another world size in $took s: $(head -c 300 "$work/h0.txt")"
