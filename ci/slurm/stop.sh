#!/usr/bin/env bash
# Stop exactly the daemons ci/slurm/start.sh started (PIDs in $D/pids),
# in reverse start order: slurmd, slurmctld, munged. Leaves the config and
# logs in place (they are useful after a failure).
set -uo pipefail

D="${MTLNER_SLURM_DIR:-${TMPDIR:-/tmp}/mtlner-slurm}"
log() { echo "[slurm-stop] $*" >&2; }

[[ -f "$D/pids" ]] || { log "nothing to stop ($D/pids absent)"; exit 0; }

mapfile -t lines < "$D/pids"
for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    read -r name pid <<<"${lines[i]}"
    [[ -n ${pid:-} ]] || continue
    if ! kill -0 "$pid" 2>/dev/null; then
        log "$name ($pid) not running"; continue
    fi
    # only signal the PID if it still is the daemon we started
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo "?")
    if [[ $comm != "$name"* ]]; then
        log "PID $pid is '$comm', not $name: leaving it"; continue
    fi
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name ($pid) ignored SIGTERM for 10s: SIGKILL"; kill -KILL "$pid" 2>/dev/null
    fi
    log "stopped $name ($pid)"
done
rm -f "$D/pids"
