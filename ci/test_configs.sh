#!/usr/bin/env bash
# The .test/ cases: each .test/<case>/run.sh runs a small config's default target to the end
# (as the Snakemake workflow catalogue runs its .test/ configs) and checks what it built.
# Run from anywhere; every case runs from the repository root, one after the other; prints each
# case's name and wall time and exits non-zero when any case failed (the others still run).
#   SNAKEMAKE (default .venv/bin/snakemake), PYTHON (default .venv/bin/python): what the cases run.
set -euo pipefail
cd "$(dirname "$0")/.."
export SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
export PYTHON=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
failed=()
cases=(.test/*/run.sh)
[ -e "${cases[0]}" ] || { echo "test_configs: no .test/*/run.sh found" >&2; exit 1; }
for script in "${cases[@]}"; do
    name=$(basename "$(dirname "$script")")
    echo "== .test/$name"
    start=$SECONDS
    if bash "$script"; then
        echo "== .test/$name: passed in $((SECONDS - start)) s"
    else
        echo "== .test/$name: FAILED after $((SECONDS - start)) s" >&2
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "test_configs: ${#failed[@]} of ${#cases[@]} cases failed: ${failed[*]}" >&2
    exit 1
fi
echo "test_configs: all ${#cases[@]} cases passed"
