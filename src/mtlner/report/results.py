"""Gather metrics.json files (one per training job) into one long table.

One row per (job, task, split, level): everything tables and figures need, so they can be
redrawn from this CSV alone without touching models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mtlner.errors import UserError
from mtlner.training.metrics import LEVELS

COLUMNS = [
    "kind", "head", "without", "task", "entity_type", "ablation", "seed", "best_epoch", "epochs",
    "train_windows", "train_windows_total", "train_seconds", "split", "level",
    "precision", "recall", "f1", "tp", "predicted", "gold", "source",
]  # fmt: skip


def metrics_rows(path: str | Path) -> list[dict]:
    path = Path(path)
    # a deleted metrics.json is rebuilt by the job that wrote it (rule all asks for every one)
    rebuild = "delete it and run snakemake again: the training job that wrote it reruns"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # JSONDecodeError, UnicodeDecodeError
        raise UserError(f"cannot read metrics file {path}: {err}", hint=rebuild) from err
    try:
        return _rows(path, data)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise UserError(
            f"metrics file {path} is not a training job's metrics.json (no {err} where expected)", hint=rebuild
        ) from err


def _rows(path: Path, data: dict) -> list[dict]:
    rows = []
    for task, result in data["tasks"].items():
        for split in ("dev", "test"):
            # older metrics.json files (before word_strict existed) have only word and entity
            for level in [lvl for lvl in LEVELS if lvl in result[split]]:
                scores = result[split][level]
                rows.append(
                    {
                        "kind": data["kind"],
                        # metrics.json files from before the CRF head (issue 21) have no head: linear
                        "head": data.get("head") or "linear",
                        "without": data.get("without") or "",
                        "task": task,
                        "entity_type": result["entity_type"],
                        "ablation": float(data["ablation"]),
                        "seed": int(data["seed"]),
                        "best_epoch": data["best_epoch"],
                        "epochs": data["epochs"],
                        "train_windows": result["train_windows"],
                        "train_windows_total": result["train_windows_total"],
                        "train_seconds": data["train_seconds"],
                        "split": split,
                        "level": level,
                        **{k: scores[k] for k in ("precision", "recall", "f1", "tp", "predicted", "gold")},
                        "source": str(path),
                    }
                )
    return rows


def collect_metrics(paths: list[str | Path]) -> pd.DataFrame:
    rows = [row for path in paths for row in metrics_rows(path)]
    return pd.DataFrame(rows, columns=COLUMNS)
