"""Paper Table 1 (mention counts per task and split) from conversion reports.

``python -m mtlner.data.huner`` writes ``conversion_report.json`` per task; this module turns a
set of them into Table 1 rows and lists where they differ from the paper's numbers
(``shared/paper/table1_mentions.csv``: entity, dataset, total_*/unique_* per split).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

SPLITS = ("train", "dev", "test")
# paper dataset names that differ from our task suffix
_DATASET_OF_SUFFIX = {"linnaeus": "LINNEAUS"}


def dataset_name(task: str) -> str:
    suffix = task.split("_", 1)[1]
    return _DATASET_OF_SUFFIX.get(suffix, suffix.upper())


def table1_row(task: str, entity: str, report: dict) -> dict:
    row = {"entity": entity, "dataset": dataset_name(task)}
    for kind in ("total", "unique"):
        for split in SPLITS:
            row[f"{kind}_{split}"] = report["mentions"][split][kind]
    return row


def read_paper_table(path: str | Path) -> dict[tuple[str, str], dict[str, int]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return {
            (row["entity"], row["dataset"]): {
                key: int(value) for key, value in row.items() if key not in ("entity", "dataset")
            }
            for row in csv.DictReader(handle)
        }


def compare_with_paper(rows: list[dict], paper: dict) -> list[str]:
    """Human-readable differences (empty when every count matches)."""
    differences = []
    for row in rows:
        expected = paper.get((row["entity"], row["dataset"]))
        if expected is None:
            differences.append(f"{row['entity']}/{row['dataset']}: not in the paper's table")
            continue
        for key, value in expected.items():
            if row.get(key) != value:
                differences.append(f"{row['entity']}/{row['dataset']} {key}: ours {row.get(key)}, paper {value}")
    return differences


def rows_from_reports(report_paths: dict[str, tuple[str, Path]]) -> list[dict]:
    """``{task: (entity, path to conversion_report.json)}`` -> Table 1 rows."""
    return [
        table1_row(task, entity, json.loads(Path(path).read_text(encoding="utf-8")))
        for task, (entity, path) in sorted(report_paths.items())
    ]
