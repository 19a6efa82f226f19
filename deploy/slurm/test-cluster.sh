#!/usr/bin/env bash
# A throwaway single-node Slurm cluster, for tests: munged, slurmctld and slurmd, run by hand
# (no systemd), with every file in DIR and nothing written to /etc.
#
#   deploy/slurm/test-cluster.sh up DIR     # start it; waits until the node is idle
#   export SLURM_CONF=DIR/slurm.conf        # then sbatch, squeue, scancel... talk to it
#   deploy/slurm/test-cluster.sh down DIR   # cancel its jobs, stop the daemons
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge packages, and root (slurmd starts
# jobs as their user). The node gets this machine's CPUs and memory (from `slurmd -C`).
# Ports: SLURMCTLD_PORT and SLURMD_PORT if set, else random ones. `up` stops what it started
# if it fails; `down` is safe to run twice or on a half-started DIR.
set -euo pipefail
# The daemons live in sbin, not on every user's PATH.
export PATH="$PATH:/usr/sbin:/sbin"

usage() {
  echo "usage: $0 up|down DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

# Stops the daemon whose pid is in the file $1, waiting up to 10 s before SIGKILL.
stop_pidfile() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

down() {
  if [ -f "$dir/slurm.conf" ] && [ -s "$dir/slurmctld.pid" ]; then
    # Cancel every job so that each slurmstepd kills its processes, then wait for them to go.
    export SLURM_CONF="$dir/slurm.conf"
    scancel --quiet --full "--user=$(id -un)" 2>/dev/null || true
    for _ in $(seq 100); do
      [ -z "$(squeue --noheader --format=%i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munged.pid"
}

up() {
  for exe in munged slurmctld slurmd sbatch; do
    if ! command -v "$exe" >/dev/null 2>&1; then
      echo "$exe is missing: install Slurm and MUNGE with" \
        "\`apt-get install -y slurmctld slurmd slurm-client munge\`" >&2
      exit 127
    fi
  done
  trap 'down' ERR
  local host ctld_port slurmd_port cpus mem
  host=$(hostname -s)
  ctld_port=${SLURMCTLD_PORT:-$((20000 + RANDOM % 20000))}
  slurmd_port=${SLURMD_PORT:-$((ctld_port + 1))}
  cpus=$(nproc)
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  # munged checks that its key and socket directories are private.
  chmod 700 "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 600 "$dir/munge/munge.key"
  munged --force --socket="$dir/munge/socket" --key-file="$dir/munge/munge.key" \
    --log-file="$dir/munged.log" --pid-file="$dir/munged.pid" \
    --seed-file="$dir/munge/seed" </dev/null
  cat >"$dir/slurm.conf" <<EOF
# Written by deploy/slurm/test-cluster.sh: a single-node cluster for tests.
ClusterName=impasto-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MaxArraySize=1001
# Short timers so that submit, cancel and requeue are seen quickly.
SchedulerParameters=sched_interval=1
SlurmctldTimeout=10
SlurmdTimeout=10
KillWait=2
MinJobAge=60
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -i -f "$SLURM_CONF" </dev/null >>"$dir/slurmctld.log" 2>&1
  slurmd -N "$host" -f "$SLURM_CONF" </dev/null >>"$dir/slurmd.log" 2>&1
  for _ in $(seq 300); do
    if sinfo --noheader --format=%t 2>/dev/null | grep -qx idle; then
      trap - ERR
      echo "cluster up: export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.1
  done
  echo "the node did not become idle within 30 s; logs in $dir" >&2
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  down
  exit 1
}

case $action in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
