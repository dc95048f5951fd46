#!/usr/bin/env bash
# Before/after comparison for a change that must not change behaviour (issue 20): checks out
# each git ref in a temporary worktree, runs the workflow's default target there with CONFIG,
# tags a small text with every saved model of the run, and compares the two results/ folders
# with ci/compare_outputs.py (metrics.json equal but for timing and host fields; tables,
# predictions, figures and tag output byte-identical). Prints a report; exits non-zero on any
# difference or failed run.
#
# Usage: ci/compare_outputs.sh BEFORE_REF AFTER_REF [CONFIG]
#   CONFIG: a config file inside the checkout (default config/demo.yaml: about 8 min a side on
#   2 idle cores), resolved in each ref's worktree so its relative paths point into that ref; or
#   a .test/<case> folder with make_corpora.sh and config.yaml (.test/own-corpora: about a
#   minute a side), whose corpora are built beside a copy of the config, as the case's run.sh does.
#   Both refs may be the same commit: that checks that two runs give identical outputs.
# Env: PYTHON, SNAKEMAKE (default: .venv/bin/... of this checkout, else the ones on PATH),
#   CORES (default 2), KEEP=1 keeps the worktrees and logs (always kept on a failed run).
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
BEFORE=$1 AFTER=$2 CONFIG=${3:-config/demo.yaml}
REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
bin() { if [ -x "$REPO/.venv/bin/$1" ]; then echo "$REPO/.venv/bin/$1"; else command -v "$1"; fi; }
PYTHON=${PYTHON:-$(bin python)}
SNAKEMAKE=${SNAKEMAKE:-$(bin snakemake)}
CORES=${CORES:-2}
export HF_HUB_OFFLINE=1
commit() {  # resolved once: a branch that moves during the run (main, say) gives both sides one commit
    git -C "$REPO" rev-parse --verify --quiet "$1^{commit}" \
        || { echo "compare_outputs: $1 is not a commit in $REPO" >&2; exit 2; }
}
BEFORE_COMMIT=$(commit "$BEFORE") AFTER_COMMIT=$(commit "$AFTER")
T=$(mktemp -d "${TMPDIR:-/tmp}/mtlner-compare.XXXXXX")
cleanup() {
    status=$?
    if [ $status -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
        for side in before after; do
            [ -d "$T/$side" ] && git -C "$REPO" worktree remove --force "$T/$side"
        done
        rm -rf "$T"
    else
        echo "compare_outputs: worktrees and logs kept in $T (git worktree prune after removing it)" >&2
    fi
}
trap cleanup EXIT
# Killed or interrupted: stop the running workflow and fail, so the EXIT trap keeps what was
# built. The workflow runs in the background (`wait` returns at a signal; a foreground child
# would hold the trap until it ended).
child=
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 143' TERM
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 130' INT

# A small text with mentions of every demo entity type, tagged by each saved model.
mkdir -p "$T/text"
cat > "$T/text/abstract.txt" << 'EOF'
Mutations in the BRCA1 gene were found in MCF-7 cells treated with cisplatin.
Mice (Mus musculus) given doxorubicin showed lower p53 expression than HeLa cells in culture.
EOF

run_side() {  # run_side NAME REF: worktree, workflow run, tag output; prints the wall time
    local side=$1 ref=$2 wt=$T/$1 config start
    git -C "$REPO" worktree add --quiet --detach "$wt" "$ref"
    start=$SECONDS
    if [ -d "$REPO/$CONFIG" ]; then  # a .test case: corpora built beside a copy of its config
        (cd "$wt" && bash "$REPO/$CONFIG/make_corpora.sh" "$T/$side-case/corpora")
        cp "$REPO/$CONFIG/config.yaml" "$T/$side-case/config.yaml"
        config=$T/$side-case/config.yaml
    else
        config=$wt/$CONFIG
        [ -f "$config" ] || { echo "compare_outputs: $ref has no $CONFIG" >&2; return 1; }
    fi
    (cd "$wt" && PYTHONPATH="$wt/src" exec "$SNAKEMAKE" --cores "$CORES" --configfile "$config") \
        > "$T/$side.log" 2>&1 &
    child=$!
    wait "$child" || { tail -n 40 "$T/$side.log" >&2; echo "compare_outputs: the $side run ($ref) failed, log $T/$side.log" >&2; return 1; }
    child=
    local models
    models=$(cd "$wt" && find results -name model.json -path '*/model/*' | sort)
    [ -n "$models" ] || echo "compare_outputs: $side saved no model (save_models in $CONFIG): no tag output compared" >&2
    for m in $models; do
        local dir out
        dir=$(dirname "$m")
        out=$wt/results/compare_tag/${dir#results/}
        mkdir -p "$out"
        for format in jsonl conll bioc; do
            (cd "$wt" && PYTHONPATH="$wt/src" "$PYTHON" -m mtlner.cli tag "$T/text/abstract.txt" \
                --model "$dir" --format "$format" -o "$out/abstract.$format" --no-progress) \
                >> "$T/$side.tag.log" 2>&1 || { cat "$T/$side.tag.log" >&2; return 1; }
        done
    done
    echo "compare_outputs: $side (${ref:0:9}) ran in $((SECONDS - start)) s" >&2
}

run_side before "$BEFORE_COMMIT"
run_side after "$AFTER_COMMIT"
PYTHONPATH="$REPO/src" "$PYTHON" "$REPO/ci/compare_outputs.py" "$T/before" "$T/after"
