#!/usr/bin/env bash
# CI case: evaluation-only cross_corpus_targets with the demo corpora, the default target to the
# end in a temporary folder, then check.py (the cross_corpus table and the gene heat map).
# Run from the repository root: bash .test/cross-corpus/run.sh (KEEP=1 keeps the work folder).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
PYTHON=${PYTHON:-.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/mtlner-cross-corpus.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "work folder: $work"; fi

HF_HUB_OFFLINE=1 "$SNAKEMAKE" --snakefile "$repo/Snakefile" --directory "$work/run" \
    --configfile "$here/config.yaml" --cores "${CORES:-2}" --show-failed-logs \
    --config "corpora_dir=$repo/resources/demo/corpora" "paper_dir=$repo/resources/paper"
"$PYTHON" "$here/check.py" "$work/run"
