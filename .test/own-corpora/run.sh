#!/usr/bin/env bash
# .test case (a): two corpora of your own without document markers, built at run time in a
# temporary folder outside the repository, the config beside them, the run in another folder
# (--snakefile, --directory), paper_dir "": the default target must build every table and
# figure. Then the same run with the default paper_dir (the checkout's resources/paper): only
# the tables and the cost report are redone, now with the paper's comparison, no training.
# Run from the repository root (ci/test_configs.sh does); exits non-zero on any failure.
set -euo pipefail
SNAKEMAKE=${SNAKEMAKE:-.venv/bin/snakemake}
PYTHON=${PYTHON:-.venv/bin/python}
REPO=$(pwd)
CASE=$REPO/.test/own-corpora
T=$(mktemp -d "${TMPDIR:-/tmp}/mtlner-own-corpora.XXXXXX")
trap 'status=$?; if [ $status -eq 0 ]; then rm -rf "$T"; else echo "own-corpora: failed, files kept in $T" >&2; fi' EXIT

bash "$CASE/make_corpora.sh" "$T/corpora"
cp "$CASE/config.yaml" "$T/config.yaml"
run() {
    "$SNAKEMAKE" --snakefile "$REPO/Snakefile" --directory "$T/run" --cores 2 --configfile "$@"
}

run "$T/config.yaml" > "$T/run1.log" 2>&1 || { tail -n 60 "$T/run1.log"; exit 1; }
"$PYTHON" "$CASE/check_outputs.py" "$T/run/results" --entity-ablation
# nothing priced (no paper_dir, none of config.yaml's tasks ran here): one row that says why
grep -q "^all,.*not priced" "$T/run/results/tables/cost_projection.csv"
run "$T/config.yaml" -n > "$T/again.log" 2>&1
grep -q "Nothing to be done" "$T/again.log" || { cat "$T/again.log"; exit 1; }

# the default paper_dir: the checkout's resources/paper (a schema default is relative to it)
grep -v '^paper_dir:' "$T/config.yaml" > "$T/with-paper.yaml"
run "$T/with-paper.yaml" -n > "$T/plan.log" 2>&1 || { tail -n 40 "$T/plan.log"; exit 1; }
if grep -qE '^(train_|windows|prepare_)' "$T/plan.log"; then
    echo "own-corpora: setting paper_dir would retrain:" >&2
    grep -A30 "Job stats" "$T/plan.log" >&2
    exit 1
fi
run "$T/with-paper.yaml" > "$T/run2.log" 2>&1 || { tail -n 60 "$T/run2.log"; exit 1; }
"$PYTHON" "$CASE/check_outputs.py" "$T/run/results" --entity-ablation --paper
grep -q ",estimated," "$T/run/results/tables/cost_projection.csv"
echo "own-corpora: ok"
