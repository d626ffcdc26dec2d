#!/usr/bin/env bash
# sweep_slurm.sh HEBBKIT DATA_ROOT WORKDIR: `hebbkit sweep --executor slurm` against a real
# Slurm: munged, slurmctld and slurmd started in WORKDIR with a one-node configuration on
# ports of their own, stopped at the end. Exits 77 (skipped) where Slurm is not installed.
set -u
hebbkit="$1" data="$2" work="$3"
source "$(dirname "$0")/../support/slurm_cluster.sh"
start_slurm "$work"

export HEBBKIT_DATA="$data"
cat > "$work/tiny.yaml" <<'YAML'
seed: 0
dataset: {name: mnist, validation: 40}
head: {name: softmax, epochs: 3, lr: 0.05}
stages: [train, evaluate]
YAML
# A grid as one job array (two at a time), one trial failing at run time.
"$hebbkit" sweep "$work/tiny.yaml" --param head.lr=0.05,0.2 --param dataset.validation=40,100000 --executor slurm \
  --jobs 2 --threads 1 --poll 0.5 --out "$work/grid" >"$work/grid.txt" 2>&1 || fail "slurm grid sweep exit $?"
[ "$(grep -c ',completed,' "$work/grid/results.csv")" -eq 2 ] || fail "two completed trials expected"
[ "$(grep -c ',failed,' "$work/grid/results.csv")" -eq 2 ] || fail "two failed trials expected"
[ "$(wc -l < "$work/grid/slurm/jobs.txt")" -eq 1 ] || fail "a grid should be one job array"
grep -q -- '--array\|ids=(0 1 2 3)' "$work/grid/slurm/"array_*.sh || fail "no array script"
[ -s "$work/grid/best.yaml" ] && [ -s "$work/grid/objective.png" ] || fail "best.yaml or objective.png missing"
grep -q '"host"' "$work/grid/trials/0000/manifest.json" || fail "trial 0 has no run folder"
# TPE learns from results, so it submits in rounds of --jobs.
"$hebbkit" sweep "$work/tiny.yaml" --param head.lr=0.01:0.3:log --strategy tpe --trials 3 --executor slurm \
  --jobs 1 --threads 1 --poll 0.5 --out "$work/tpe" >"$work/tpe.txt" 2>&1 || fail "slurm tpe sweep exit $?"
[ "$(grep -c ',completed,' "$work/tpe/results.csv")" -eq 3 ] || fail "three completed trials expected"
[ "$(wc -l < "$work/tpe/slurm/jobs.txt")" -eq 3 ] || fail "TPE with --jobs 1 should submit three arrays"
echo "ok: sweeps through Slurm job arrays"
