"""Reading and writing tables, shared by every report: the collected results and corpus stats
in, and one writer that puts a table out as CSV (full precision) and Markdown (3 decimals,
``<column>_sd`` folded in as ``mean ± sd``), each written atomically.

Each result row has a ``head`` (``linear``, the paper's, or ``crf``; issue 21). Every table and
figure of the paper's kind reads the linear rows only (:func:`linear_only`), so a run without
CRF jobs writes exactly what it wrote before; the head comparisons (``mtlner.report.heads``)
read both."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from mtlner.atomic import atomic_path, write_text
from mtlner.errors import UserError

if TYPE_CHECKING:  # pandas is imported where a frame is built
    import pandas as pd


def load_corpus_stats(paths: list[str | Path]) -> pd.DataFrame:
    """One row per task from the corpora's stats.json: mentions, sentences, tokens, density per split."""
    import pandas as pd

    rows = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        row = {"task": data["task"], "entity": data["entity_type"], "dataset": data["dataset"]}
        for split, s in data["splits"].items():
            row[f"total_{split}"] = s["mentions"]
            row[f"unique_{split}"] = s["unique_mentions"]
            row[f"sentences_{split}"] = s["sentences"]
            row[f"tokens_{split}"] = s["tokens"]
            row[f"density_{split}"] = s["density"]
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["entity", "dataset"]).reset_index(drop=True)


def load_results(path: str | Path) -> pd.DataFrame:
    """The collected results (results/results.csv), one row per job and task."""
    import pandas as pd

    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    # an all-empty column reads as float64 NaN; the entity names are text
    frame["without"] = frame["without"].astype(object).fillna("")
    frame["head"] = heads_of(frame)  # a metrics.csv from before the head column: all linear
    if frame.empty:
        raise UserError(f"{path} holds no results", hint="run the training jobs first (snakemake builds them)")
    return frame


LINEAR, CRF = "linear", "crf"


def heads_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's head; ``linear`` where the frame has no head column or the cell is empty."""
    import pandas as pd

    if "head" not in frame:
        return pd.Series(LINEAR, index=frame.index, dtype=object)
    return frame["head"].astype(object).fillna(LINEAR).replace("", LINEAR)


def job_kind(metrics: dict) -> str:
    """A metrics.json's kind where a table files CRF jobs as kinds of their own (cost, cross-corpus):
    ``stl``, ``mtl``, ... for the linear head, ``stl_crf``, ``mtl_crf``, ... for the CRF head."""
    return metrics["kind"] + ("_crf" if metrics.get("head", LINEAR) == CRF else "")


def has_crf(frame: pd.DataFrame) -> bool:
    return bool((heads_of(frame) == CRF).any())


def rows_of_head(frame: pd.DataFrame, head: str) -> pd.DataFrame:
    """The rows of one head, without the head column (the frame the tables read before it existed)."""
    keep = heads_of(frame) == head
    return frame[keep].drop(columns="head", errors="ignore").reset_index(drop=True)


def linear_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows every table and figure of the paper's kind reads: the linear head's."""
    return rows_of_head(frame, LINEAR)


def _fmt(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def to_markdown(frame: pd.DataFrame, title: str = "") -> str:
    """Pipe table; a ``<col>_sd`` column is folded into ``<col>`` as ``mean ± sd``."""
    columns = [c for c in frame.columns if not (c.endswith("_sd") and c.removesuffix("_sd") in frame.columns)]
    lines = [f"# {title}", ""] if title else []
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            cell = _fmt(row[c])
            sd = row.get(f"{c}_sd")
            if cell and isinstance(sd, float) and not math.isnan(sd):
                cell += f" ± {sd:.3f}"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    if frame.empty:
        lines.append("")
        lines.append("(no rows)")
    return "\n".join(lines) + "\n"


def write_table(frame: pd.DataFrame, base: str | Path, title: str, shown: pd.DataFrame | None = None) -> list[Path]:
    """``<base>.csv`` and ``<base>.md`` of ``frame``; ``shown``: what the Markdown shows instead
    (the same rows with cells made printable), when that differs. Returns both paths."""
    csv, markdown = Path(f"{base}.csv"), Path(f"{base}.md")
    with atomic_path(csv) as tmp:
        frame.to_csv(tmp, index=False)
    write_text(markdown, to_markdown(frame if shown is None else shown, title))
    return [csv, markdown]
