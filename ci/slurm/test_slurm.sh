#!/usr/bin/env bash
# CI test on a real one-node SLURM (see ci/slurm/start.sh).
# Skips (exit 0, clear message) when not root or apt is unavailable.
# Starts the daemons, runs the checks, and always stops what it started.
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
    || { log "FAIL: snakemake-executor-plugin-slurm not installed in $PYTHON"; exit 1; }

rc=0
ci/slurm/start.sh || rc=$?
if [[ $rc -eq 77 ]]; then log "SKIPPED: SLURM cannot be installed/started here"; exit 0; fi
[[ $rc -eq 0 ]] || { log "FAIL: could not start SLURM"; exit 1; }
trap 'ci/slurm/stop.sh' EXIT

tests/slurm/smoke.sh
log "PASSED in $(( $(date +%s) - t0 ))s"
