"""Cross-corpus transfer: a task's head scored on the test split of every other task of its entity type.

In-corpus F1 says how well a model fits the corpus it was trained on; a reader who tags other
text needs to know how much of that survives on another corpus of the same entity type (other
annotation guidelines, other journals). The paper's models are never saved, so this is done
inside each training job, right after its own test pass, with the best dev epoch's weights:

    mtlner train ... --cross-test NAME=ENTITY=WINDOWS_DIR   (or NAME=ENTITY=.../test.pt; repeat)

Every head of the job whose entity type is ENTITY (an STL job's one head, each of an MTL job's
heads of that type) predicts NAME's test windows (another task's, or an evaluation-only
target's: config ``cross_corpus_targets``, a corpus with a test split only that no job trains
on), and the same code as the job's own test pass
(``train.Run.evaluate``: the same word positions, batching and ``metrics.scores``) scores them
at every level (word, word_strict, entity). A target is never paired with its own head (an MTL
job lists every task; its own test pass already scored it). Tasks of one entity type share the
label set by construction: every head predicts ``labels.LABELS`` (O, B, I, special), and the
entity type is the task's config type after ``corpus.normalise_entity_type``.

The scores go into the job's ``metrics.json`` under ``cross_corpus`` (a list; empty when no
target was given), not into a file of their own: metrics.json is already every training rule's
declared output, written in one atomic write with the in-corpus scores of the same weights, so
the two can never come from different runs; and a separate file would have to be declared by
rules whose wildcard values decide whether it means anything (a task alone in its type), which
Snakemake outputs cannot express. The other tasks' test windows are the job's declared inputs
(workflow/rules/train.smk), so a changed target reruns the job.

:func:`write_cross_corpus` (``mtlner cross-corpus``, rule ``cross_corpus``) turns the jobs'
metrics.json files into the ``cross_corpus`` table (one row per job, source and target task:
entity-level precision, recall and F1 on the target, the source's in-corpus F1, the drop, the
target's own in-corpus F1 in the same kind, ablation and seed, the word-level F1 and drop, and
``evaluation_only``: a target no job trained on) and one heat map per entity type
(``fig_cross_corpus_<entity>``: rows the trained sources, columns the sources and then the
evaluation-only targets).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mtlner.atomic import atomic_path, write_text
from mtlner.errors import UserError

if TYPE_CHECKING:  # pandas/numpy only for the table and the figure, not in every training job
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


# --------------------------------------------------------------------------- training side


@dataclass
class Target:
    """Another task's test split, to be tagged by the job's heads of the same entity type."""

    name: str
    entity: str
    windows: list
    meta: dict
    path: Path


def load_target(spec: str) -> Target:
    """``NAME=ENTITY=PATH``: PATH a task's window folder (its test.pt is read) or a test.pt."""
    from mtlner.data.corpus import normalise_entity_type
    from mtlner.data.windows import load_windows

    parts = spec.split("=")
    if len(parts) != 3 or not all(parts):
        raise UserError(f"--cross-test {spec!r} must look like NAME=ENTITY=WINDOWS_DIR (or NAME=ENTITY=PATH/test.pt)")
    name, entity, path = parts[0], normalise_entity_type(parts[1]), Path(parts[2])
    if path.is_dir():
        path = path / "test.pt"
    windows, meta = load_windows(path)
    return Target(name, entity, windows, meta, path)


def pairs(sources, targets: list[Target]) -> list[tuple[object, Target]]:
    """(source task, target) for every source head of the target's entity type, itself excluded.

    A target no head of the job can tag (another entity type only) is an error: its scores
    would be no transfer between corpora of one type."""
    out = []
    for target in targets:
        matched = [s for s in sources if s.entity == target.entity and s.name != target.name]
        same_type = [s for s in sources if s.entity == target.entity]
        if not same_type:
            types = sorted({s.entity for s in sources})
            raise UserError(
                f"--cross-test {target.name} is a {target.entity} task, but this job's tasks are {types}",
                hint="cross-corpus scoring pairs tasks of the same entity type; drop that --cross-test",
            )
        out += [(source, target) for source in matched]
    return out


def check_windows(target: Target, meta: dict) -> None:
    """The target's windows must come from the tokenizer the job's own windows came from."""
    for key in ("encoder", "tokenizer"):
        if key in meta and key in target.meta and meta[key] != target.meta[key]:
            raise UserError(
                f"{target.path} was built with {key} {target.meta[key]!r}, this job's windows with {meta[key]!r}",
                hint="pass the target's windows from the same window cache (results/windows/<key>/) as the job's tasks",
            )


def prepare(specs: list[str], sources, meta: dict) -> list[Target]:
    """Load and check every ``--cross-test`` target before training, so that a wrong one is
    reported before the first epoch: its windows' tokenizer, and a same-type head to tag it."""
    targets = [load_target(spec) for spec in specs or []]
    for target in targets:
        check_windows(target, meta)
    pairs(sources, targets)
    return targets


def cross_test(evaluate, sources, targets: list[Target]) -> list[dict]:
    """Score every (source head, target) pair; ``evaluate(task, split)`` is the job's own
    test-pass scorer (``train.Run.evaluate``), given a task named like the source head whose
    test split is the target's windows. Returns JSON-ready rows for metrics.json."""
    from mtlner.training.loop import Task

    rows = []
    for source, target in pairs(sources, targets):
        scored, _ = evaluate(Task(source.name, target.entity, [], [], target.windows), "test")
        rows.append(
            {
                "source": source.name,
                "target": target.name,
                "entity_type": target.entity,
                "test_windows": len(target.windows),
                "test": scored,
            }
        )
    return rows


def evaluator(model, tokenizer, cfg):
    """The job's test-pass scorer for a trained model, outside :func:`train.train`: the same
    ``Run.evaluate`` on the model's device, with its autocast and evaluation batch budget."""
    from mtlner.training.loop import Run

    device = next(model.parameters()).device
    return Run(model, model, None, None, device, tokenizer.pad_token_id, cfg).evaluate


# --------------------------------------------------------------------------- report side


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

    jobs = []
    in_corpus: dict[tuple, dict] = {}  # (kind, without, ablation, seed, task) -> its test scores
    for path in metrics_paths:
        data = _read(path)
        job = (data["kind"], data.get("without") or "", float(data["ablation"]), int(data["seed"]))
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
    from mtlner.report.tables import to_markdown

    table = cross_corpus_table(metrics_paths)
    base = Path(tables_dir) / "cross_corpus"
    with atomic_path(f"{base}.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_text(f"{base}.md", to_markdown(table, TITLE))
    written = [Path(f"{base}.csv"), Path(f"{base}.md")]
    for entity in sorted(set(table["entity"])) if entities is None else entities:
        figure = Path(figures_dir) / figure_name(entity)
        plots._save(heat_map(table, entity), figure)
        written += [Path(f"{figure}.png"), Path(f"{figure}.svg")]
    return written
