"""Cross-corpus transfer, the report: the ``cross_corpus`` table and a heat map per entity type,
from the scores each training job wrote (:mod:`mtlner.training.cross_test`).

:func:`write_cross_corpus` (``mtlner cross-corpus``, rule ``cross_corpus``) turns the jobs'
metrics.json files into the ``cross_corpus`` table (one row per job, source and target task:
entity-level precision, recall and F1 on the target, the source's in-corpus F1, the drop, the
target's own in-corpus F1 in the same kind, ablation and seed, the word-level F1 and drop, and
``evaluation_only``: a target no job trained on) and one heat map per entity type
(``fig_cross_corpus_<entity>``: rows the trained sources, columns the sources and then the
evaluation-only targets). Both read the linear head's jobs only (a metrics.json with ``head``
``crf``, issue 21, is skipped), as the paper's tables do.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from mtlner.errors import UserError

if TYPE_CHECKING:  # pandas/numpy imported by the functions that draw the table and the figure
    import pandas as pd

KINDS = ("stl", "mtl", "stl_from_mtl", "baseline")
KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}
TITLE = (
    "Cross-corpus transfer: each model's head for the source task scored on the test split of another task of the same "
    "entity type (best dev epoch, inside the training job); entity-level (strict) precision, recall and F1 on the target; "
    "in_corpus_f1 = the source's own test F1, drop = in_corpus_f1 - f1; target_in_corpus_f1 = the target's own model of "
    "the same kind, ablation and seed on its test split (empty for an evaluation-only target, which no job trains on: "
    "evaluation_only); word_* = the paper's word level"
)
COLUMNS = [
    "entity", "source", "target", "kind", "without", "ablation", "seed", "precision", "recall", "f1", "in_corpus_f1",
    "drop", "target_in_corpus_f1", "word_f1", "word_in_corpus_f1", "word_drop", "gold", "predicted", "evaluation_only",
]  # fmt: skip


def figure_name(entity: str) -> str:
    return f"fig_cross_corpus_{entity}"


def _read(path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read metrics file {path}: {err}", hint="rerun the training job that wrote it") from err


def _f1(scores: dict | None, level: str) -> float:
    return float(scores[level]["f1"]) if scores and level in scores else math.nan


def cross_corpus_table(metrics_paths) -> pd.DataFrame:
    """One row per (job, source, target) from the ``cross_corpus`` lists of the jobs' metrics.json."""
    import pandas as pd

    from mtlner.report.io import job_kind

    jobs = []
    in_corpus: dict[tuple, dict] = {}  # (kind, without, ablation, seed, task) -> its test scores
    for path in metrics_paths:
        data = _read(path)
        # a CRF job is a kind of its own (stl_crf, ...): its own rows and heat-map panel, and its
        # targets' in-corpus F1 from the CRF jobs of the same ablation and seed
        job = (job_kind(data), data.get("without") or "", float(data["ablation"]), int(data["seed"]))
        for task, result in data["tasks"].items():
            in_corpus[job + (task,)] = result["test"]
        jobs.append((job, data))
    trained = {task for _, data in jobs for task in data["tasks"]}
    rows = []
    for job, data in jobs:
        for row in data.get("cross_corpus") or []:
            source_test = data["tasks"][row["source"]]["test"]
            target_test = in_corpus.get(job + (row["target"],))
            cross = row["test"]
            entity = cross["entity"]
            rows.append(
                {
                    "entity": row["entity_type"], "source": row["source"], "target": row["target"],
                    "kind": job[0], "without": job[1], "ablation": job[2], "seed": job[3],
                    "precision": entity["precision"], "recall": entity["recall"], "f1": entity["f1"],
                    "in_corpus_f1": _f1(source_test, "entity"), "drop": _f1(source_test, "entity") - entity["f1"],
                    "target_in_corpus_f1": _f1(target_test, "entity"),
                    "word_f1": _f1(cross, "word"), "word_in_corpus_f1": _f1(source_test, "word"),
                    "word_drop": _f1(source_test, "word") - _f1(cross, "word"),
                    "gold": entity["gold"], "predicted": entity["predicted"],
                    "evaluation_only": row["target"] not in trained,
                }
            )  # fmt: skip
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        return frame
    frame = frame.assign(_order=frame["kind"].map(KIND_ORDER).fillna(len(KINDS)))
    frame = frame.sort_values(["entity", "_order", "without", "ablation", "source", "target", "seed"])
    return frame.drop(columns="_order").reset_index(drop=True)


def heat_map(table: pd.DataFrame, entity: str):
    """Source (rows) x target (columns) entity-level test F1 of one entity type, mean over seeds,
    one panel per model kind, at the smallest fraction of training data removed; the diagonal
    is each source's in-corpus F1 (framed). Columns: the trained sources, then (after a white
    line, labelled "test only") the evaluation-only targets, which have no row. Where several ablation levels ran, a last panel
    draws the mean cross-corpus F1 over the type's pairs (solid) and the mean in-corpus F1
    (dashed) of each kind by fraction of training data removed."""
    import numpy as np
    from matplotlib.patches import Rectangle

    from mtlner.report import plots

    plt = plots.plt
    rows = table[table["entity"] == entity]
    kinds = [k for k in KINDS if k in set(rows["kind"])] + sorted(set(rows["kind"]) - set(KINDS))
    curves = rows["ablation"].nunique() > 1
    panels = max(1, len(kinds) + curves)
    fig, axes = plt.subplots(1, panels, figsize=(max(4.5, 3.8 * panels), 4.2), squeeze=False)
    axes = list(axes[0])
    if not kinds:
        axes[0].text(0.5, 0.5, f"no cross-corpus scores for {entity}", ha="center", va="center")
        axes[0].set_axis_off()
        return fig
    first_sources = None
    for ax, kind in zip(axes, kinds):
        sub = rows[rows["kind"] == kind]
        removed = sub["ablation"].min()
        sub = sub[sub["ablation"] == removed]
        # rows: the trained sources; columns: them, then the evaluation-only targets
        sources = sorted(set(sub["source"]) | set(sub.loc[~sub["evaluation_only"].astype(bool), "target"]))
        extra = sorted(set(sub["target"]) - set(sources))
        columns = sources + extra
        grid = np.full((len(sources), len(columns)), np.nan)
        row_of = {t: i for i, t in enumerate(sources)}
        col_of = {t: j for j, t in enumerate(columns)}
        for (source, target), f1 in sub.groupby(["source", "target"])["f1"].mean().items():
            grid[row_of[source], col_of[target]] = f1
        for source, f1 in sub.groupby("source")["in_corpus_f1"].mean().items():
            grid[row_of[source], col_of[source]] = f1
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
        for i in range(len(sources)):
            for j in range(len(columns)):
                if not np.isnan(grid[i, j]):
                    colour = "white" if grid[i, j] < 0.6 else "black"
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7, color=colour)
            ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.2))
        if extra:
            ax.axvline(len(sources) - 0.5, color="white", linewidth=3)
        labels = sources + [f"{t} (test only)" for t in extra]
        ax.set_xticks(range(len(columns)), labels, rotation=45, ha="right", fontsize=7)
        # a panel with the first panel's rows leaves their names to it (they would overlap it)
        shown = ax is axes[0] or sources != first_sources
        ax.set_yticks(range(len(sources)), sources if shown else [""] * len(sources), fontsize=7)
        first_sources = sources if ax is axes[0] else first_sources
        ax.set_xlabel("test split (target)")
        data = f"{removed:g} of training data removed" if removed else "all training data"
        ax.set_title(f"{plots.KIND_LABELS.get(kind, kind)}, {data}", fontsize=9)
    axes[0].set_ylabel("model / head trained on (source)")
    fig.colorbar(image, ax=axes[: len(kinds)], shrink=0.8, label="entity-level test F1 (mean over seeds)")
    if curves:
        ax = axes[-1]
        for k, kind in enumerate(kinds):
            sub = rows[rows["kind"] == kind]
            cross = sub.groupby("ablation")["f1"].mean()
            own = sub.drop_duplicates(["source", "ablation", "seed"]).groupby("ablation")["in_corpus_f1"].mean()
            label = plots.KIND_LABELS.get(kind, kind)
            ax.plot(cross.index, cross.values, marker="o", color=f"C{k}", label=f"{label}, cross-corpus")
            ax.plot(
                own.index, own.values, marker=".", linestyle="--", color=f"C{k}", alpha=0.6, label=f"{label}, in-corpus"
            )
        ax.set_xlabel("fraction of training data removed")
        ax.set_ylabel("mean entity-level test F1")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title("by data ablation", fontsize=9)
    fig.suptitle(f"Cross-corpus transfer, {entity}: in-corpus F1 on the diagonal (framed)", fontsize=10)
    return fig


def write_cross_corpus(metrics_paths, tables_dir, figures_dir, entities=None) -> list[Path]:
    """The cross_corpus table (CSV + Markdown) and a heat map per entity type (PNG + SVG):
    ``entities`` (the rule names those with two tasks or more), else every type with rows."""
    from mtlner.report import plots
    from mtlner.report.io import write_table

    table = cross_corpus_table(metrics_paths)
    written = write_table(table, Path(tables_dir) / "cross_corpus", TITLE)
    for entity in sorted(set(table["entity"])) if entities is None else entities:
        figure = Path(figures_dir) / figure_name(entity)
        plots._save(heat_map(table, entity), figure)
        written += [Path(f"{figure}.png"), Path(f"{figure}.svg")]
    return written
