"""Significance of the differences the tables report: paired bootstrap over test documents
(``stats.paired_bootstrap``) of entity-level F1, Holm-corrected across tasks.

Comparisons (one row each in ``significance.csv``):

- ``mtl_vs_stl``: MTL against STL on each task, at every data-ablation level;
- ``ablation_vs_0``: each ablation level against the same model kind's 0.0 level, for STL,
  MTL and STL-from-MTL (each task fine-tuned from the MTL encoder trained without its type);
- ``stl_from_mtl_vs_stl``: STL fine-tuned from MTL-without-the-type against plain STL, per level;
- ``crf_vs_linear`` (:func:`head_significance`, its own table ``heads_significance``): each STL,
  MTL and STL-from-MTL job with the CRF head against the same job with the linear head (same
  kind, type left out, task and level; the seeds both ran, paired seed by seed). The statistic
  is entity-level (strict span) F1, as in every comparison here: the CRF head is meant to fix
  span boundaries, which the word levels barely see.

:func:`significance` compares the linear head's jobs only (``io.linear_only``), so its rows do
not change when CRF jobs ran.

A family for Holm's correction is one (comparison, kind, ablation level): all its tasks.
A comparison on fewer than ``MIN_DOCUMENTS`` test documents keeps its p-value, but its
``note`` column says it is unreliable, and a warning goes to stderr (the tables job's log).
Predictions are read from ``<job>/predictions/<task>.test.tsv`` beside each ``metrics.json``
named in the collected results' ``source`` column; the caller passes those files explicitly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mtlner.errors import UserError
from mtlner.report.io import CRF, LINEAR, linear_only, rows_of_head
from mtlner.report.stats import document_counts, holm, paired_bootstrap

log = logging.getLogger(__name__)

COLUMNS = [
    "comparison", "kind", "without", "task", "ablation", "baseline", "f1_a", "f1_b", "delta",
    "ci_low", "ci_high", "p", "p_holm", "documents", "seeds", "rounds", "note",
]  # fmt: skip
# below this many test documents a resample of documents is too coarse for its interval and
# p-value to mean much (one document, as in a corpus without -DOCSTART- lines: none at all)
MIN_DOCUMENTS = 20


def few_documents_note(documents: int) -> str:
    """The significance table's note for a comparison on too few test documents ("" if enough)."""
    if documents >= MIN_DOCUMENTS:
        return ""
    return (
        f"UNRELIABLE: {documents} test document{'s' * (documents != 1)} (< {MIN_DOCUMENTS}) to resample; "
        "give the corpus document boundaries (-DOCSTART- lines or the task's documents key, docs/new-corpus.md)"
    )


def prediction_path(metrics_source: str | Path, task: str) -> Path:
    """Where the training job that wrote ``metrics_source`` put its test predictions for ``task``."""
    return Path(metrics_source).parent / "predictions" / f"{task}.test.tsv"


def prediction_paths(metrics_paths, tasks_of_job) -> list[Path]:
    """Prediction files of a list of metrics.json paths; ``tasks_of_job(path)`` lists its tasks."""
    return [prediction_path(m, t) for m in metrics_paths for t in tasks_of_job(m)]


def _systems(results: pd.DataFrame) -> dict[tuple, dict[int, str]]:
    """(kind, without, task, ablation) -> {seed: metrics source} from the collected results."""
    rows = results[(results["split"] == "test") & (results["level"] == "entity")]
    systems: dict[tuple, dict[int, str]] = {}
    for row in rows.itertuples(index=False):
        key = (row.kind, row.without or "", row.task, round(float(row.ablation), 6))
        systems.setdefault(key, {})[int(row.seed)] = row.source
    return systems


class _Counts:
    """Per-document counts of each prediction file, read once, from the files given only."""

    def __init__(self, predictions):
        self.allowed = {Path(p).resolve(): Path(p) for p in predictions}
        self.cache: dict[Path, tuple[np.ndarray, list]] = {}

    def __call__(self, source: str, task: str) -> tuple[np.ndarray, list]:
        path = prediction_path(source, task).resolve()
        if path not in self.allowed:
            raise UserError(
                f"no predictions given for task {task} of {source} (expected {prediction_path(source, task)})",
                hint="pass every job's predictions/<task>.test.tsv with --predictions",
            )
        if path not in self.cache:
            self.cache[path] = document_counts(self.allowed[path])
        return self.cache[path]


def _pairs(systems: dict) -> list[tuple[str, tuple, tuple, str]]:
    """(comparison, system A, system B, baseline label) for every comparison the data allow."""
    pairs = []
    for key in sorted(systems):
        kind, without, task, ablation = key
        if kind == "mtl" and not without:
            pairs.append(("mtl_vs_stl", key, ("stl", "", task, ablation), "stl"))
        if kind in ("stl", "mtl", "stl_from_mtl") and ablation != 0:
            pairs.append(("ablation_vs_0", key, (kind, without, task, 0.0), "ablation 0.0"))
        if kind == "stl_from_mtl":
            pairs.append(("stl_from_mtl_vs_stl", key, ("stl", "", task, ablation), "stl"))
    return [p for p in pairs if p[2] in systems]


def _compare(a: dict[int, str], b: dict[int, str], task: str, counts: _Counts, rounds: int, seed: int) -> dict | None:
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    stack_a, stack_b = [], []
    for s in seeds:
        (ca, gold_a), (cb, gold_b) = counts(a[s], task), counts(b[s], task)
        if gold_a != gold_b:
            raise UserError(
                f"{prediction_path(a[s], task)} and {prediction_path(b[s], task)} were scored on different test sets",
                hint="rerun both training jobs on the same corpus (snakemake --forcerun)",
            )
        stack_a.append(ca)
        stack_b.append(cb)
    return paired_bootstrap(np.stack(stack_a), np.stack(stack_b), rounds=rounds, seed=seed)


def significance(results: pd.DataFrame, predictions, rounds: int = 1000, seed: int = 1) -> pd.DataFrame:
    """One row per comparison and task, with p and Holm-adjusted p (see the module docstring)."""
    _check_rounds(rounds)
    systems = _systems(linear_only(results))
    return _bootstrap(
        [(comparison, systems[a], a, systems[b], baseline) for comparison, a, b, baseline in _pairs(systems)],
        predictions,
        rounds,
        seed,
    )


def head_significance(results: pd.DataFrame, predictions, rounds: int = 1000, seed: int = 1) -> pd.DataFrame:
    """CRF head minus linear head per (kind, without, task, ablation), the significance table's
    columns, comparison ``crf_vs_linear``; Holm's family: the tasks of one (kind, ablation)."""
    _check_rounds(rounds)
    linear, crf = (_systems(rows_of_head(results, head)) for head in (LINEAR, CRF))
    pairs = [
        ("crf_vs_linear", crf[key], key, linear[key], LINEAR)
        for key in sorted(crf)
        # MTL without a type keeps no test predictions (as in the analysis); baseline is linear only
        if key in linear and key[0] in ("stl", "mtl", "stl_from_mtl") and not (key[0] == "mtl" and key[1])
    ]
    return _bootstrap(pairs, predictions, rounds, seed)


def _check_rounds(rounds: int) -> None:
    if rounds < 1000:
        raise UserError(f"--rounds {rounds} is too few for a p-value to two decimals", hint="use at least 1000")


def _bootstrap(pairs, predictions, rounds: int, seed: int) -> pd.DataFrame:
    """``pairs``: (comparison, seeds of A, key of A, seeds of B, baseline label); one row each
    that shares a seed, with the few-documents note and Holm within (comparison, kind, ablation)."""
    counts = _Counts(predictions)
    rows = []
    for comparison, seeds_a, key_a, seeds_b, baseline in pairs:
        kind, without, task, ablation = key_a
        result = _compare(seeds_a, seeds_b, task, counts, rounds, seed)
        if result is not None:
            rows.append(
                {
                    "comparison": comparison,
                    "kind": kind,
                    "without": without,
                    "task": task,
                    "ablation": ablation,
                    "baseline": baseline,
                    **result,
                }
            )
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_holm", "note")])
    frame["note"] = [few_documents_note(int(n)) for n in frame["documents"]]
    for task, documents in sorted(set(zip(frame["task"], frame["documents"]))):
        if documents < MIN_DOCUMENTS:
            log.warning(
                "significance: task %s has %d test document(s) (fewer than %d): its bootstrap p-values and "
                "intervals are not reliable (note column of the significance table); give its corpus "
                "document boundaries (docs/new-corpus.md)",
                task,
                documents,
                MIN_DOCUMENTS,
            )
    frame["p_holm"] = np.nan
    for _, index in frame.groupby(["comparison", "kind", "ablation"]).groups.items():
        frame.loc[index, "p_holm"] = holm(frame.loc[index, "p"].to_numpy())
    return frame[COLUMNS]
