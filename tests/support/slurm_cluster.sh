# slurm_cluster.sh, sourced: `start_slurm WORKDIR` starts munged, slurmctld and slurmd with
# a one-node configuration on ports of their own (logs in WORKDIR, sockets in a short
# temporary folder), exports SLURM_CONF, and stops them when the test exits. Exits 77
# (skipped) where Slurm is not installed. Defines `fail MESSAGE` (prints WORKDIR's logs).
start_slurm() {
  work="$1"
  for tool in munged slurmctld slurmd sbatch squeue scancel sinfo; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || { echo "HEBBKIT-SKIPPED: $tool not installed (Debian: slurm-wlm, munge)"; exit 77; }
  done
  export PATH="$PATH:/usr/sbin"
  rm -rf "$work" && mkdir -p "$work"
  # Sockets live in a short temporary folder whatever the build's path: a unix socket's path
  # is limited to 108 characters (slurmd's spool holds its socket, munged its own).
  run="$(mktemp -d /tmp/hebbkit-slurm.XXXXXX)"
  mkdir -p "$run/state" "$run/spool" "$run/munge"
  chmod 700 "$run/munge"
  pids=()
  cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -f "$run/munge/munged.pid" ] && kill "$(cat "$run/munge/munged.pid")" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$run"
  }
  trap cleanup EXIT
  fail() { echo "FAILED: $*"; for f in "$work"/*.txt "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

  # munge: a fresh key and a private socket.
  dd if=/dev/urandom of="$run/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$run/munge/munge.key"
  munged --force --socket="$run/munge/socket" --key-file="$run/munge/munge.key" --pid-file="$run/munge/munged.pid" \
    --log-file="$work/munge.log" --seed-file="$run/munge/seed" >"$work/munged.txt" 2>&1 || fail "munged did not start"

  host="$(hostname -s)"
  cpus="$(nproc)"
  port=$(( 20000 + ($$ % 20000) ))
  cat > "$work/slurm.conf" <<CONF
ClusterName=hebbkit-test
SlurmctldHost=$host
SlurmUser=$(id -un)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$run/munge/socket
StateSaveLocation=$run/state
SlurmdSpoolDir=$run/spool
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$work/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.txt" 2>&1 & pids+=($!)
  slurmd -D -f "$SLURM_CONF" >"$work/slurmd.txt" 2>&1 & pids+=($!)
  for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.5; done
  sinfo -h -o %T 2>/dev/null | grep -q idle || fail "the Slurm node did not come up"
}
