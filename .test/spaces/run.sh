#!/usr/bin/env bash
# .test case (d): spaces in every path a user gives: the run folder ("run folder"), the
# corpora ("my corpora", without -DOCSTART- lines), the paper's tables ("paper tables"), the
# config ("my config.yaml") and, when $PYTHON belongs to a venv, the interpreter (a view of
# that venv in "my venv": job commands start with the quoted interpreter, and the fork server
# must still recognise it). The default target must build every table and figure.
# Run from the repository root (ci/test_configs.sh does); exits non-zero on any failure.
set -euo pipefail
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
PYTHON=${PYTHON:-.venv/bin/python}
REPO=$(pwd)
CASE=$REPO/.test/spaces
T=$(mktemp -d "${TMPDIR:-/tmp}/mtlner spaces.XXXXXX")
trap 'status=$?; if [ $status -eq 0 ]; then rm -rf "$T"; else echo "spaces: failed, files kept in $T" >&2; fi' EXIT

bash "$REPO/.test/own-corpora/make_corpora.sh" "$T/my corpora"
cp -r "$REPO/resources/paper" "$T/paper tables"
cp "$CASE/config.yaml" "$T/my config.yaml"
snakemake=("$SNAKEMAKE")
venv=$(dirname "$(dirname "$PYTHON")")
if [ -f "$venv/pyvenv.cfg" ]; then
    # the same venv seen from a folder with a space: its pyvenv.cfg, lib/ and interpreter
    mkdir -p "$T/my venv/bin"
    cp "$venv/pyvenv.cfg" "$T/my venv/"
    ln -s "$(cd "$venv" && pwd)/lib" "$T/my venv/lib"
    ln -s "$(cd "$venv/bin" && pwd)/$(basename "$PYTHON")" "$T/my venv/bin/python"
    snakemake=("$T/my venv/bin/python" -m snakemake)
fi
echo "spaces: snakemake as: ${snakemake[*]}"
"${snakemake[@]}" --snakefile "$REPO/Snakefile" --directory "$T/run folder" --cores 2 -p \
    --configfile "$T/my config.yaml" > "$T/run.log" 2>&1 || { tail -n 60 "$T/run.log"; exit 1; }
results="$T/run folder/results"
"$PYTHON" "$REPO/.test/own-corpora/check_outputs.py" "$results" --paper
grep -q -- "--input-dir '$T/my corpora/gene_own'" "$T/run.log"
grep -q -- "--paper-dir '$T/paper tables'" "$T/run.log"
if [ -f "$venv/pyvenv.cfg" ]; then
    grep -q "'$T/my venv/bin/python' -m mtlner.cli" "$T/run.log"
    # the jobs ran in forks of the warm server: it recognised the quoted interpreter
    grep -q "mtlner train" "$results/logs/fork_server.log"
fi
echo "spaces: ok"
