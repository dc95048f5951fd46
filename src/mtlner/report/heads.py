"""Linear head (the paper's) against CRF head (linear emissions + linear-chain CRF; issue 21).

Written only when some result row has head ``crf``; a linear-only run writes none of them.
Every table here has the same shape, one row per (kind, without, ablation, task) that has CRF
jobs, named and ordered like ``seen_unseen`` and ``boundary_errors``; for each metric M:

    M_linear, M_crf             mean over seeds (M_<head>_sd beside it where several seeds ran)
    M_crf_minus_linear          difference of the two seed means (empty where no linear job ran)

and ``seeds_linear``, ``seeds_crf`` (seeds each head ran) at the end. Each head is averaged
over its own seeds; the significance test pairs the seeds both ran (``bootstrap.head_significance``).

- ``heads``: test F1 at the three metric levels, M in word, word_strict, entity (from the
  collected results);
- ``heads_boundary_errors``: M in f1_strict, f1_overlap, overlap_gap (f1_overlap - f1_strict,
  per seed: what only a boundary slip costs) and boundary (predictions overlapping a gold
  mention without matching one), from ``analysis.boundary_counts`` per job: a CRF head that
  fixes boundaries shows as a positive f1_strict and a negative overlap_gap crf_minus_linear;
- ``heads_seen_unseen``: M in f1_seen, f1_unseen (``analysis.seen_unseen_counts``).
"""

from __future__ import annotations

import pandas as pd

from mtlner.report.io import CRF, LINEAR, has_crf, heads_of

HEADS = (LINEAR, CRF)
KEYS = ["kind", "without", "task", "ablation"]
# the job kinds in the order of the other tables; MTL without a type among them, baseline last
KIND_ORDER = {"stl": 0, "mtl": 1, "stl_from_mtl": 2}

TABLES = ("heads",)
ANALYSIS_TABLES = ("heads_boundary_errors", "heads_seen_unseen")
ANALYSIS_FIGURES = ("fig_heads_strict_overlap",)
LEVEL_COLUMNS = ["word", "word_strict", "entity"]
BOUNDARY_COLUMNS = ["f1_strict", "f1_overlap", "overlap_gap", "boundary"]
SEEN_COLUMNS = ["f1_seen", "f1_unseen"]


def heads_in(results: pd.DataFrame) -> tuple[str, ...]:
    """The heads present, as the ``heads=`` argument of the name lists takes them."""
    return HEADS if has_crf(results) else (LINEAR,)


def compare_heads(per_seed: pd.DataFrame, corpus: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per (kind, without, ablation, task) with CRF rows in ``per_seed`` (one row per
    job, seed and head): ``columns`` per head and CRF minus linear (see the module docstring)."""
    first = ["kind", "without", "ablation", "entity", "dataset", "task"]
    frame = per_seed.assign(head=heads_of(per_seed))
    frame = frame.merge(frame.loc[frame["head"] == CRF, KEYS].drop_duplicates(), on=KEYS)
    if frame.empty:
        shape = [f"{c}_{part}" for c in columns for part in (*HEADS, "crf_minus_linear")]
        return pd.DataFrame(columns=first + shape + [f"seeds_{h}" for h in HEADS])
    several_seeds = frame.groupby(KEYS + ["head"]).size().max() > 1
    wide = frame[KEYS].drop_duplicates()
    for head in HEADS:
        grouped = frame[frame["head"] == head].groupby(KEYS)[columns]
        part = grouped.mean().add_suffix(f"_{head}")
        if several_seeds:
            part = part.join(grouped.std(ddof=1).add_suffix(f"_{head}_sd"))
        part[f"seeds_{head}"] = grouped.size()
        wide = wide.merge(part.reset_index(), on=KEYS, how="left")
    for head in HEADS:  # a key with no linear job has none: 0 seeds, not empty
        wide[f"seeds_{head}"] = wide[f"seeds_{head}"].fillna(0).astype(int)
    ordered = []
    for column in columns:
        wide[f"{column}_crf_minus_linear"] = wide[f"{column}_crf"] - wide[f"{column}_linear"]
        for head in HEADS:
            ordered += [f"{column}_{head}"] + ([f"{column}_{head}_sd"] if several_seeds else [])
        ordered.append(f"{column}_crf_minus_linear")
    named = corpus[["task", "entity", "dataset"]].merge(wide, on="task", how="inner")
    named = named.assign(_order=named["kind"].map(KIND_ORDER).fillna(len(KIND_ORDER)))
    named = named.sort_values(["_order", "without", "ablation", "entity", "dataset"])
    return named[first + ordered + [f"seeds_{h}" for h in HEADS]].reset_index(drop=True)


def heads_table(results: pd.DataFrame, corpus: pd.DataFrame) -> pd.DataFrame:
    """Table ``heads``: test F1 at each metric level per head, from the collected results."""
    test = results[(results["split"] == "test") & results["level"].isin(LEVEL_COLUMNS)]
    test = test.assign(head=heads_of(test))
    per_seed = test.pivot_table(index=KEYS + ["seed", "head"], columns="level", values="f1", aggfunc="mean")
    per_seed = per_seed.reindex(columns=LEVEL_COLUMNS).reset_index()  # older results lack word_strict
    return compare_heads(per_seed, corpus, LEVEL_COLUMNS)


def heads_boundary_table(boundary: pd.DataFrame, corpus: pd.DataFrame) -> pd.DataFrame:
    """Table ``heads_boundary_errors`` from ``analysis.analyse``'s per-seed boundary rows."""
    per_seed = boundary.assign(overlap_gap=boundary["f1_overlap"] - boundary["f1_strict"])
    return compare_heads(per_seed, corpus, BOUNDARY_COLUMNS)


def heads_seen_unseen_table(seen: pd.DataFrame, corpus: pd.DataFrame) -> pd.DataFrame:
    """Table ``heads_seen_unseen`` from ``analysis.analyse``'s per-seed seen/unseen rows."""
    return compare_heads(seen, corpus, SEEN_COLUMNS)


TITLES = {
    "heads_boundary_errors": "Boundary errors by head: strict and overlap (lenient) entity-level test F1, the gap "
    "between them (overlap minus strict, what boundary slips alone cost) and boundary-only predictions, linear "
    "head against CRF head, mean over seeds, and CRF minus linear",
    "heads_seen_unseen": "Seen vs unseen test mentions by head: entity-level F1 within each part, linear head "
    "against CRF head, mean over seeds, and CRF minus linear",
}
