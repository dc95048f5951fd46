#!/usr/bin/env bash
# Start a real one-node SLURM (Debian packages) on this machine, unattended.
#
#   ci/slurm/start.sh          # install if missing, configure, start, wait idle
#   ci/slurm/stop.sh           # stop exactly the daemons this script started
#
# Needs root and apt (Debian bookworm: Slurm 22.05). Writes
# /etc/slurm/slurm.conf and /etc/slurm/gres.conf (the default location: the
# nested `srun` of snakemake's jobstep executor drops SLURM_* variables such
# as SLURM_CONF, so the config must be where every Slurm client looks by
# default). It refuses to overwrite a slurm.conf it did not write.
# State, spool, logs and PID files live under $MTLNER_SLURM_DIR
# (default: ${TMPDIR:-/tmp}/mtlner-slurm).
#
# The node gets one GPU generic resource backed by /dev/null, so `--gpus=1`
# jobs are scheduled one at a time and see CUDA_VISIBLE_DEVICES=0 although the
# machine has no GPU. Accounting is disabled (no slurmdbd): use
# `--slurm-status-command squeue` with snakemake; MinJobAge=3600 keeps finished
# jobs visible to squeue/scontrol for an hour (the tests read them back).
#
# Exit codes: 0 started (or already running), 1 failure,
#             77 unsupported here (not root / no apt) -- callers may skip.
set -euo pipefail

D="${MTLNER_SLURM_DIR:-${TMPDIR:-/tmp}/mtlner-slurm}"
CONF=/etc/slurm/slurm.conf
GRES=/etc/slurm/gres.conf
MARK="# written by mtlner ci/slurm/start.sh"
log() { echo "[slurm-start] $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    log "SKIP: needs root (to install packages and run slurmd)"; exit 77
fi

# --- already running? -------------------------------------------------------
if [[ -f "$D/pids" ]]; then
    alive=1
    while read -r name pid; do
        kill -0 "$pid" 2>/dev/null || alive=0
    done < "$D/pids"
    if [[ $alive -eq 1 ]] && sinfo -h >/dev/null 2>&1; then
        log "already running (PIDs in $D/pids)"; exit 0
    fi
    log "stale $D/pids: stopping leftovers first"
    "$(dirname "$0")/stop.sh" || true
fi

# --- install ------------------------------------------------------------------
need=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || \
        [[ -x "/usr/sbin/${pair%%:*}" ]] || need+=("${pair#*:}")
done
if ((${#need[@]})); then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "SKIP: apt-get not available to install ${need[*]}"; exit 77
    fi
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || { log "SKIP: apt-get update failed"; exit 77; }
    apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null \
        || { log "apt-get install failed"; exit 1; }
fi
export PATH="/usr/sbin:/usr/bin:$PATH"

# --- config -------------------------------------------------------------------
if [[ -f $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
    log "refusing to overwrite $CONF (not written by this script)"; exit 1
fi
# a fresh cluster each time: no jobs resurrected from an earlier run
rm -rf "$D/state" "$D/spool"
mkdir -p "$D"/{state,spool,log,run} /etc/slurm
HOST=$(hostname -s)
node=$(slurmd -C | head -1)           # NodeName=... CPUs=... RealMemory=...
CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
SOCK=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$node")
CORES=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$node")
THREADS=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$node")
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")

cat > "$CONF" <<EOF
$MARK -- one-node CI cluster, state under $D
ClusterName=mtlnerci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
# backfill every second so CPU-only jobs start beside a running GPU job while
# a second GPU job waits for the gres (the main scheduler stops at the first
# job of a partition that cannot start; only backfill looks past it)
SchedulerParameters=bf_interval=1,bf_continue,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=3600
ReturnToService=2
SlurmdTimeout=120
KillWait=30
MpiDefault=none
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS SocketsPerBoard=$SOCK CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES DefaultTime=60 MaxTime=INFINITE State=UP
EOF
cat > "$GRES" <<EOF
$MARK
AutoDetect=off
NodeName=$HOST Name=gpu File=/dev/null
EOF
log "wrote $CONF and $GRES (node $HOST: CPUs=$CPUS RealMemory=$MEM gpu:1)"

# --- daemons ------------------------------------------------------------------
: > "$D/pids"
if pgrep -x munged >/dev/null 2>&1; then
    log "munged already running: using it (not recorded, stop.sh leaves it)"
else
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    echo "munged $(cat /run/munge/munged.pid)" >> "$D/pids"
fi
munge -n | unmunge >/dev/null || { log "munge round trip failed"; exit 1; }

start_daemon() {  # name pidfile
    local name=$1 pidf=$2
    rm -f "$pidf"
    "/usr/sbin/$name" || { log "$name failed to start; see $D/log/$name.log"; tail -20 "$D/log/$name.log" >&2 || true; exit 1; }
    for _ in $(seq 100); do [[ -s "$pidf" ]] && break; sleep 0.1; done
    [[ -s "$pidf" ]] || { log "$name wrote no PID file"; tail -20 "$D/log/$name.log" >&2 || true; exit 1; }
    echo "$name $(cat "$pidf")" >> "$D/pids"
}
start_daemon slurmctld "$D/run/slurmctld.pid"
start_daemon slurmd "$D/run/slurmd.pid"

for i in $(seq 120); do
    state=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null || true)
    if [[ $state == idle ]]; then
        log "node $HOST idle after ~$((i / 2))s; PIDs: $(tr '\n' ' ' < "$D/pids")"
        exit 0
    fi
    sleep 0.5
done
log "node never became idle (state: '${state:-?}')"
sinfo -N -l >&2 || true
scontrol show node "$HOST" >&2 || true
tail -20 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
exit 1
