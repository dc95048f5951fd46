"""Checks after .test/huner-mirror/run.sh's workflow run; exits non-zero naming what is wrong.

python .test/huner-mirror/check.py WORK   (WORK/run: the run, WORK/expected.json: make_mirror.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TASKS = ("chemical_scai", "gene_mirna", "species_mirna")
TABLES = ("table1_corpus", "table2_stl", "table3_mtl", "paper_comparison", "leak_audit", "cross_corpus")
FIGURES = ("fig4_f1_vs_size", "fig_data_ablation")


def problems(work: Path) -> list[str]:
    run, found = work / "run", []
    expected = json.loads((work / "expected.json").read_text())
    for corpus in ("mirna", "scai_chemicals"):
        record = json.loads((run / "resources/huner/downloads" / corpus / "download.json").read_text())
        found += [
            f"{corpus}: {e['url']} is not the local mirror" for e in record["files"] if "127.0.0.1" not in e["url"]
        ]
    for task in TASKS:
        report = json.loads((run / "results/huner" / task / "conversion_report.json").read_text())
        if report["mention_boundaries"] != "huner":
            found.append(f"{task}: converted with {report['mention_boundaries']}, config says huner")
        stats = json.loads((run / "results/corpora" / task / "stats.json").read_text())["splits"]
        for split, (total, unique) in expected[task].items():
            got = (stats[split]["mentions"], stats[split]["unique_mentions"])
            if got != (total, unique):
                found.append(f"{task} {split}: (mentions, unique) {got}, the mirror holds {(total, unique)}")
        metrics = run / "results/stl" / task
        if not any(metrics.rglob("metrics.json")):
            found.append(f"{task}: no STL metrics.json under {metrics}")
    # test and train both hold miRNA-corp.d0-d3: the registry's duplicate_ids: merge joins them
    for task in ("gene_mirna", "species_mirna"):
        report = json.loads((run / "results/huner" / task / "conversion_report.json").read_text())
        if (report["duplicate_ids"], report["duplicate_documents"]) != ("merge", 4):
            found.append(
                f"{task}: expected 4 merged duplicate documents (miRNA-corp.d0-d3), report says "
                f"{report['duplicate_documents']} ({report['duplicate_ids']})"
            )
    table1 = (
        (run / "results/tables/table1_corpus.csv").read_text()
        if (run / "results/tables/table1_corpus.csv").exists()
        else ""
    )
    for dataset in ("SCAI", "MIRNA"):
        if dataset not in table1:
            found.append(f"results/tables/table1_corpus.csv has no {dataset} row")
    for name in TABLES:
        found += [
            f"missing results/tables/{name}.{ext}"
            for ext in ("csv", "md")
            if not (run / f"results/tables/{name}.{ext}").is_file()
        ]
    for name in FIGURES:
        found += [
            f"missing results/figures/{name}.{ext}"
            for ext in ("png", "svg")
            if not (run / f"results/figures/{name}.{ext}").is_file()
        ]
    return found


if __name__ == "__main__":
    found = problems(Path(sys.argv[1]))
    for line in found:
        print(f"huner-mirror: {line}", file=sys.stderr)
    print("huner-mirror: " + ("FAILED" if found else "ok: chain, counts, tables and figures"), file=sys.stderr)
    sys.exit(1 if found else 0)
