#!/usr/bin/env bash
# CI test on a real one-node SLURM (ci/slurm/start.sh: Debian's slurmctld/slurmd/munge, one
# fake GPU gres). Skips (exit 0, clear message) when not root or apt is unavailable.
#
#  1. tests/slurm/smoke.sh: sbatch --gpus=1 sees CUDA_VISIBLE_DEVICES=0, a second GPU job waits
#     (Resources) while a CPU job runs beside it; snakemake --executor slurm on a throwaway
#     Snakefile: all jobs through SLURM, gpu=1 jobs never overlap, CPU jobs beside them.
#  2. the real workflow on tests/slurm/ci_config.yaml (2 demo tasks, STL + MTL, 1 epoch) with
#     profiles/slurm --slurm-status-command squeue: every job went through SLURM (scontrol),
#     the three gpu=1 training jobs never overlapped, and every metrics.json equals the one of a
#     local run of the same config (same seed, CPU).
#  3. the same workflow with job groups (profiles/slurm-grouped on top of profiles/slurm), reusing
#     the SLURM run's outputs: its STL jobs rerun (--forcerun train_stl) and go to SLURM as one
#     group job (one sbatch instead of one per job) asking for gpu=1, the sum of the members'
#     time limits and the largest of their memory/CPUs; the group job's log names its members;
#     every metrics.json again equals the local run's (tests/slurm/slurm_jobs.py grouped).
#  4. stops exactly the daemons it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VENV_BIN=${VENV_BIN:-$ROOT/.venv/bin}
[[ -x $VENV_BIN/snakemake ]] || VENV_BIN=$(dirname "$(command -v snakemake)")
export PYTHON=${PYTHON:-$VENV_BIN/python} SNAKEMAKE=${SNAKEMAKE:-$VENV_BIN/snakemake}
log() { echo "[test_slurm] $*"; }
t0=$(date +%s)

if [[ $(id -u) -ne 0 ]]; then log "SKIPPED: needs root to install and run SLURM"; exit 0; fi
if ! command -v sbatch >/dev/null && ! command -v apt-get >/dev/null; then
    log "SKIPPED: SLURM not installed and apt-get unavailable"; exit 0
fi
"$PYTHON" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
    || { log "FAIL: snakemake-executor-plugin-slurm not installed for $PYTHON"; exit 1; }

rc=0
ci/slurm/start.sh || rc=$?
if [[ $rc -eq 77 ]]; then log "SKIPPED: SLURM cannot be installed here"; exit 0; fi
[[ $rc -eq 0 ]] || { log "FAIL: could not start SLURM"; exit 1; }
local_pid=
passed=0
cleanup() {
    if [[ -n $local_pid ]]; then kill "$local_pid" 2>/dev/null || true; wait "$local_pid" 2>/dev/null || true; fi
    ci/slurm/stop.sh
    # plain closing line for CI (after the daemons are gone): sbatch/gres, executor smoke,
    # gpu_share packing, workflow via SLURM, metrics equal to the local run, grouped run's
    # submissions and requests, grouped run's metrics equal to the local run
    if [[ $passed == 1 ]]; then echo "test_slurm: 7 passed, 0 failed"; else echo "test_slurm: FAILED"; fi
}
trap cleanup EXIT

# ---- 1. SLURM and the executor plugin ----------------------------------------------------------
tests/slurm/smoke.sh
log "smoke test passed after $(( $(date +%s) - t0 ))s"

# ---- 2. the workflow through SLURM vs locally ---------------------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/mtlner-slurm-wf.XXXXXX")
sed "s|@ROOT@|$ROOT|g" tests/slurm/ci_config.yaml > "$W/config.yaml"
TARGET=results/summary/metrics.csv
common=(--snakefile "$ROOT/Snakefile" --configfile "$W/config.yaml")
slurm_flags=(--slurm-status-command squeue --slurm-no-account --slurm-keep-successful-logs
    --slurm-init-seconds-before-status-checks 1 --jobs 4 --retries 0)

# the local reference run goes on beside the SLURM run (one core; the SLURM run mostly waits
# between status checks)
t1=$(date +%s)
"$SNAKEMAKE" "${common[@]}" --directory "$W/local" --cores 1 "$TARGET" > "$W/local.log" 2>&1 &
local_pid=$!
if ! "$SNAKEMAKE" "${common[@]}" --directory "$W/slurm" --profile "$ROOT/profiles/slurm" \
        "${slurm_flags[@]}" "$TARGET" > "$W/slurm.log" 2>&1; then
    tail -60 "$W/slurm.log"
    for f in "$W"/slurm/.snakemake/slurm_logs/*/*/*.log "$W"/slurm/results/logs/*/*.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -20 "$f"; }
    done
    log "FAIL: workflow through SLURM"; exit 1
fi
log "workflow through SLURM: $(( $(date +%s) - t1 ))s"
"$PYTHON" tests/slurm/slurm_jobs.py check "$W/slurm.log" --min-jobs 8 --min-gpu-jobs 3 \
    --json "$W/slurm_jobs.json" || { log "FAIL: SLURM job checks"; exit 1; }
# no job of the workflow ran outside SLURM (the target rule aside, nothing is local)
if grep -q "^localrule " "$W/slurm.log"; then
    grep "^localrule " "$W/slurm.log"; log "FAIL: some jobs ran locally"; exit 1
fi

# ---- 3. the STL jobs again, grouped (profiles/slurm-grouped), while the local run finishes ------
# A copy of the SLURM run's folder: corpora, windows and the MTL job are reused; only the STL
# jobs (and collect, downstream of them) run again.
t2=$(date +%s)
cp -a "$W/slurm" "$W/grouped"
rm -rf "$W/grouped/.snakemake/slurm_logs"
if ! "$SNAKEMAKE" "${common[@]}" --directory "$W/grouped" --profile "$ROOT/profiles/slurm" \
        --workflow-profile "$ROOT/profiles/slurm-grouped" --forcerun train_stl \
        "${slurm_flags[@]}" "$TARGET" > "$W/grouped.log" 2>&1; then
    tail -60 "$W/grouped.log"
    for f in "$W"/grouped/.snakemake/slurm_logs/*/*.log "$W"/grouped/.snakemake/slurm_logs/*/*/*.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -30 "$f"; }
    done
    log "FAIL: grouped workflow through SLURM"; exit 1
fi
log "STL jobs grouped through SLURM: $(( $(date +%s) - t2 ))s"
"$PYTHON" tests/slurm/slurm_jobs.py check "$W/grouped.log" --min-jobs 2 --min-gpu-jobs 1 \
    || { log "FAIL: SLURM job checks (grouped run)"; exit 1; }
if grep -q "^localrule " "$W/grouped.log"; then
    grep "^localrule " "$W/grouped.log"; log "FAIL: the grouped run ran jobs locally"; exit 1
fi
"$PYTHON" tests/slurm/slurm_jobs.py grouped "$W/slurm.log" "$W/grouped.log" --group stl_pack \
    --rules train_stl train_stl_from_mtl train_baseline --json "$W/grouped_jobs.json" \
    || { log "FAIL: grouped submissions/requests"; exit 1; }

local_rc=0; wait "$local_pid" || local_rc=$?; local_pid=
[[ $local_rc == 0 ]] || { tail -40 "$W/local.log"; log "FAIL: local run"; exit 1; }
log "same workflow locally (alongside): done $(( $(date +%s) - t1 ))s after the start"
"$PYTHON" tests/slurm/compare_metrics.py "$W/slurm/results" "$W/local/results" \
    || { log "FAIL: SLURM and local metrics differ"; exit 1; }
"$PYTHON" tests/slurm/compare_metrics.py "$W/grouped/results" "$W/local/results" \
    || { log "FAIL: grouped SLURM and local metrics differ"; exit 1; }

log "PASSED in $(( $(date +%s) - t0 ))s (work dir $W)"
passed=1
