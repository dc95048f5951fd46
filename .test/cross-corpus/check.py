"""Checks after .test/cross-corpus/run.sh's workflow run; exits non-zero naming what is wrong.

python .test/cross-corpus/check.py RUN_DIR
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET, SOURCE = "gene_bc2gm", "gene_bionlp11id"


def problems(run: Path) -> list[str]:
    found = []
    for name in (
        "tables/cross_corpus.csv",
        "tables/cross_corpus.md",
        "tables/leak_audit.csv",
        "tables/table1_corpus.csv",
    ):
        if not (run / "results" / name).is_file():
            found.append(f"missing results/{name}")
    for ext in ("png", "svg"):
        if not (run / f"results/figures/fig_cross_corpus_gene.{ext}").is_file():
            found.append(f"missing results/figures/fig_cross_corpus_gene.{ext} (the gene heat map)")
        if (run / f"results/figures/fig_cross_corpus_species.{ext}").exists():
            found.append("fig_cross_corpus_species drawn, but species has one task and no target")
    if found:
        return found
    rows = list(csv.DictReader((run / "results/tables/cross_corpus.csv").open()))
    scored = {row["kind"]: row for row in rows if row["target"] == TARGET}
    # the target's gold mentions: every B- tag of its test.tsv (the only file read)
    gold = sum(
        line.split("\t")[-1].startswith("B-") for line in (REPO / "resources/demo/corpora" / TARGET / "test.tsv").open()
    )
    for kind in ("stl", "mtl"):
        row = scored.get(kind)
        if row is None:
            found.append(f"cross_corpus.csv: no {kind} row scoring {TARGET}")
            continue
        if row["source"] != SOURCE or row["evaluation_only"] != "True":
            found.append(
                f"cross_corpus.csv {kind} row: source {row['source']}, evaluation_only {row['evaluation_only']}"
            )
        if int(row["gold"]) != gold or not 0.0 <= float(row["f1"]) <= 1.0:
            found.append(f"cross_corpus.csv {kind} row: gold {row['gold']} (test.tsv has {gold}), f1 {row['f1']}")
    # evaluation-only: never trained on, not a task of Table 1, but in the leak audit
    if any(row["source"] == TARGET for row in rows) or (run / "results/stl" / TARGET).exists():
        found.append(f"{TARGET} was trained on; it is an evaluation-only target")
    if TARGET in (run / "results/tables/table1_corpus.csv").read_text():
        found.append(f"table1_corpus.csv lists {TARGET}, which is not a task")
    if not (run / "results/leaks" / f"{TARGET}.json").is_file():
        found.append(f"no leak audit for {TARGET} (results/leaks/{TARGET}.json)")
    return found


if __name__ == "__main__":
    found = problems(Path(sys.argv[1]))
    for line in found:
        print(f"cross-corpus: {line}", file=sys.stderr)
    print(
        "cross-corpus: " + ("FAILED" if found else "ok: cross_corpus table, heat map, target never trained"),
        file=sys.stderr,
    )
    sys.exit(1 if found else 0)
