#!/usr/bin/env bash
# Two corpora "of your own" for the .test cases, in DEST/<task>/{train,dev,test}.tsv: the first
# sentences of two committed demo corpora with their -DOCSTART- lines removed, as many CoNLL
# releases come (no document markers). Usage: make_corpora.sh DEST [TRAIN_SENTENCES] [EVAL_SENTENCES]
set -euo pipefail
dest=$1
train=${2:-30}
eval=${3:-15}
for pair in gene_own:gene_bionlp11id chemical_own:chemical_bc5cdr; do
    task=${pair%%:*}
    source=resources/demo/corpora/${pair#*:}
    mkdir -p "$dest/$task"
    for split in train dev test; do
        n=$([ "$split" = train ] && echo "$train" || echo "$eval")
        # paragraph mode: one record per sentence; a -DOCSTART- line is a record of its own
        awk -v n="$n" 'BEGIN { RS = ""; ORS = "\n\n" } $1 == "-DOCSTART-" { next } ++k <= n' \
            "$source/$split.tsv" > "$dest/$task/$split.tsv"
        if grep -q -- -DOCSTART- "$dest/$task/$split.tsv"; then
            echo "make_corpora.sh: $dest/$task/$split.tsv still has -DOCSTART- lines" >&2
            exit 1
        fi
    done
done
