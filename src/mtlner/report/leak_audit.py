"""The leak audit's outputs: the table (``results/tables/leak_audit.csv`` and ``.md``) and one
JSON per task and per evaluation-only target (``results/leaks/<name>.json``), from the overlaps
:mod:`mtlner.data.leaks` finds."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mtlner.atomic import write_json
from mtlner.data.leaks import audit, describe, task_overlaps
from mtlner.report.io import write_table

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("mtlner.data.leaks")  # the warnings keep the logger name they had

TITLE = (
    "Leak audit: distinct normalised sentences (case-folded tokens) and document IDs that split_a of task_a shares "
    "with split_b of task_b; sentences_a / sentences_b: how many sentences of each split they are; share_b: of "
    "split_b's sentences; shared_documents empty where a split has no IDs; dropped_from_a: training sentences removed "
    "by drop_leaks; pairs sharing nothing are left out. Rows of scope 'evaluation-only target': task_b is a "
    "cross-corpus target (test split only, never trained on, scored by every job with a head of its entity type) "
    "and split_a a task's train or dev split"
)


def write_audit(
    corpora: dict[str, str | Path], table_dir, json_dir, targets: dict[str, str | Path] | None = None
) -> pd.DataFrame:
    """The table (CSV + Markdown), one JSON per task and per evaluation-only target, and a
    warning per training-text overlap."""
    dropped = {}
    for task, folder in corpora.items():
        stats = Path(folder) / "stats.json"
        if stats.is_file():
            dropped[task] = json.loads(stats.read_text()).get("drop_leaks", {}).get("by_eval_split", {})
    targets = {name: folder for name, folder in (targets or {}).items() if name not in corpora}
    frame = audit(corpora, dropped, targets)
    write_table(frame, Path(table_dir) / "leak_audit", TITLE, shown=frame.astype(object).where(frame.notna(), ""))
    for task in [*corpora, *targets]:
        overlaps = task_overlaps(frame, task)
        for row in overlaps:
            log.warning("leak: %s", describe(row))
        marked = {"evaluation_only": True} if task in targets else {}
        write_json(Path(json_dir) / f"{task}.json", {"task": task, **marked, "overlaps": overlaps})
    return frame
