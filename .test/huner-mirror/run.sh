#!/usr/bin/env bash
# CI case: the HUNER download -> convert -> split chain and the default target to the end, on a
# tiny synthetic mirror (make_mirror.py) served on 127.0.0.1 by python -m mtlner.data.mirror, as
# `make reference` serves ../shared/huner-mirror. Needs no network and no ../shared.
# Run from the repository root: bash .test/huner-mirror/run.sh (KEEP=1 keeps the work folder).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
PYTHON=${PYTHON:-.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/mtlner-huner-mirror.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "work folder: $work"; fi

"$PYTHON" "$here/make_mirror.py" "$work"
# mtlner.data.mirror appends huner_url_base=http://127.0.0.1:<port> to this --config
HF_HUB_OFFLINE=1 "$PYTHON" -m mtlner.data.mirror "$work/mirror" -- \
    "$SNAKEMAKE" --snakefile "$repo/Snakefile" --directory "$work/run" \
    --configfile "$here/config.yaml" --cores "${CORES:-2}" --show-failed-logs \
    --config "paper_dir=$repo/resources/paper"
"$PYTHON" "$here/check.py" "$work"
