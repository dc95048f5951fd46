"""The reference page: this workflow's tables beside the paper's, task by task, and the paper's
three claims checked the same way on both sides.

Reads the tables a finished run wrote (``results/tables/*.csv``) and the paper's own tables
(``resources/paper/*.csv``); rows are matched on entity type and dataset name. Every claim is
computed by one function from either side's table, so the page never compares a number we
computed with one the paper computed differently:

- MTL vs STL with all training data (Tables 2-3, word level): on how many tasks MTL is higher;
- data ablation (Tables 4-5): mean test F1 at each level, and the drop from 0 to 0.9 removed;
- STL fine-tuned from an MTL encoder that never saw the entity type (Table 6) vs plain STL.

Only the p-values are ours alone (the paper reports none): paired bootstrap over test
documents, Holm-corrected across tasks (``results/tables/significance.csv``).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd

from mtlner.atomic import write_text
from mtlner.errors import UserError

LEVELS = ("a0.00", "a0.25", "a0.50", "a0.75", "a0.90")


def _read(folder: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    if not path.is_file():
        if required:
            raise UserError(f"{path} is missing", hint="run the workflow to the end first (snakemake tables)")
        return None
    return pd.read_csv(path)


def _key(frame: pd.DataFrame) -> pd.Series:
    return frame["entity"].astype(str) + "/" + frame["dataset"].astype(str).str.upper()


def _side_by_side(ours: pd.DataFrame, paper: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Our columns and the paper's for the tasks both have, as ``<col>`` and ``<col>_paper``."""
    ours = ours.assign(key=_key(ours))
    paper = paper.assign(key=_key(paper))
    have = [c for c in columns if c in ours and c in paper]
    merged = ours[["entity", "dataset", "key", *have]].merge(
        paper[["key", *have]].rename(columns={c: f"{c}_paper" for c in have}), on="key", how="inner"
    )
    ordered = ["entity", "dataset"] + [x for c in have for x in (c, f"{c}_paper")]
    return merged[ordered]


def _fmt(value) -> str:
    if isinstance(value, float):  # round(...) + 0.0: no "-0.000" for a tiny negative
        return "" if math.isnan(value) else f"{round(value, 3) + 0.0:.3f}"
    return str(value)


def _markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the claims


def mtl_vs_stl(stl: pd.DataFrame, mtl: pd.DataFrame) -> dict:
    """Tasks where MTL's test F1 beats STL's, from Table 2 (f1_test) and Table 3 (f1_test)."""
    both = stl[["entity", "dataset", "f1_test"]].merge(
        mtl[["entity", "dataset", "f1_test"]], on=["entity", "dataset"], suffixes=("_stl", "_mtl")
    )
    return {
        "tasks": len(both),
        "mtl_higher": int((both["f1_test_mtl"] > both["f1_test_stl"]).sum()),
        "mean_delta": float((both["f1_test_mtl"] - both["f1_test_stl"]).mean()) if len(both) else float("nan"),
    }


def ablation_curve(table: pd.DataFrame) -> dict:
    """Mean test F1 over tasks at each level, and the drop from no data removed to 90 % removed."""
    have = [c for c in LEVELS if c in table]
    means = {c: float(table[c].mean()) for c in have}
    drop = means.get("a0.00", float("nan")) - means.get("a0.90", float("nan"))
    return {"means": means, "drop": drop}


def fine_tune_vs_stl(table6: pd.DataFrame) -> dict:
    """STL fine-tuned from the MTL encoder without the type (a0.00) vs plain STL, per task."""
    rows = table6.dropna(subset=["a0.00", "stl"])
    return {
        "tasks": len(rows),
        "fine_tune_higher": int((rows["a0.00"] > rows["stl"]).sum()),
        "mean_delta": float((rows["a0.00"] - rows["stl"]).mean()) if len(rows) else float("nan"),
    }


def _restrict(paper: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """The paper's rows for the tasks we ran (so both sides' claims cover the same tasks)."""
    keys = set(_key(ours))
    return paper[_key(paper).isin(keys)]


# --------------------------------------------------------------------------- the page


def build_page(tables_dir: str | Path, paper_dir: str | Path, title: str, notes: str = "") -> str:
    tables_dir, paper_dir = Path(tables_dir), Path(paper_dir)
    ours = {
        name: _read(tables_dir, name)
        for name in (
            "table1_corpus",
            "table2_stl",
            "table3_mtl",
            "table4_stl_data_ablation",
            "table5_mtl_data_ablation",
            "table7_entity_level",
        )
    }
    ours["table6"] = _read(tables_dir, "table6_entity_ablation", required=False)
    ours["significance"] = _read(tables_dir, "significance", required=False)
    ours["recipes"] = _read(tables_dir, "recipes", required=False)
    paper = {
        "table1_corpus": _read(paper_dir, "table1_mentions"),
        "table2_stl": _read(paper_dir, "table2_stl"),
        "table3_mtl": _read(paper_dir, "table3_mtl"),
        "table4_stl_data_ablation": _read(paper_dir, "table4_stl_data_ablation"),
        "table5_mtl_data_ablation": _read(paper_dir, "table5_mtl_data_ablation"),
        "table6": _read(paper_dir, "table6_entity_ablation_finetune"),
        "table7_entity_level": _read(paper_dir, "table7_entity_level_vs_weber"),
    }
    out = [f"# {title}", ""]
    if notes:
        out += [notes.strip(), ""]

    out += ["## The paper's claims, checked the same way on both sides", ""]
    ours_mvs = mtl_vs_stl(ours["table2_stl"], ours["table3_mtl"])
    paper_mvs = mtl_vs_stl(
        _restrict(paper["table2_stl"], ours["table2_stl"]), _restrict(paper["table3_mtl"], ours["table2_stl"])
    )
    out.append(
        f"- **MTL vs STL, all training data (word-level test F1)**: here MTL is higher on {ours_mvs['mtl_higher']} of "
        f"{ours_mvs['tasks']} tasks (mean MTL − STL {ours_mvs['mean_delta']:+.3f}); in the paper, on the same tasks, on "
        f"{paper_mvs['mtl_higher']} of {paper_mvs['tasks']} (mean {paper_mvs['mean_delta']:+.3f})."
    )
    sig = ours["significance"]
    if sig is not None and not sig.empty:
        rows = sig[(sig["comparison"] == "mtl_vs_stl") & (sig["ablation"] == 0)]
        better = rows[(rows["p_holm"] < 0.05) & (rows["delta"] > 0)]
        worse = rows[(rows["p_holm"] < 0.05) & (rows["delta"] < 0)]
        out.append(
            f"  Paired bootstrap of entity-level F1 over test documents (Holm across {len(rows)} tasks, p < 0.05): "
            f"MTL significantly better on {len(better)}, significantly worse on {len(worse)}"
            + (f" ({', '.join(worse['task'])})" if len(worse) else "")
            + "."
        )
    for kind, name in (("STL", "table4_stl_data_ablation"), ("MTL", "table5_mtl_data_ablation")):
        ours_curve = ablation_curve(ours[name])
        paper_curve = ablation_curve(_restrict(paper[name], ours[name]))
        ours_means = ", ".join(f"{v:.3f}" for v in ours_curve["means"].values())
        paper_means = ", ".join(f"{v:.3f}" for v in paper_curve["means"].values())
        out.append(
            f"- **{kind} data ablation** (mean word-level test F1 at 0/25/50/75/90 % removed): here {ours_means} "
            f"(drop {ours_curve['drop']:+.3f}); paper, same tasks: {paper_means} (drop {paper_curve['drop']:+.3f})."
        )
    if ours["table6"] is not None and not ours["table6"].empty:
        ours_ft = fine_tune_vs_stl(ours["table6"])
        paper_ft = fine_tune_vs_stl(_restrict(paper["table6"], ours["table6"]))
        out.append(
            f"- **STL fine-tuned from MTL without the entity type vs plain STL** (no data removed): here higher on "
            f"{ours_ft['fine_tune_higher']} of {ours_ft['tasks']} tasks (mean {ours_ft['mean_delta']:+.3f}); paper, same "
            f"tasks: {paper_ft['fine_tune_higher']} of {paper_ft['tasks']} (mean {paper_ft['mean_delta']:+.3f})."
        )
    if ours["recipes"] is not None and not ours["recipes"].empty:
        rec = ours["recipes"]
        out.append(
            f"- **Recipe** (ours only): the standard Hugging Face recipe minus this run's STL recipe, entity-level test F1, "
            f"mean over {len(rec)} tasks: {rec['entity_standard_minus_stl'].mean():+.3f} (table recipes)."
        )
    out.append("")

    out += crf_heads_section(tables_dir)

    sections = [
        (
            "Table 1. Mentions per split (total, unique)",
            "table1_corpus",
            ["total_train", "total_dev", "total_test", "unique_train", "unique_dev", "unique_test"],
        ),
        ("Table 2. STL, word-level", "table2_stl", ["f1_test", "p_test", "r_test", "f1_dev"]),
        ("Table 3. MTL, word-level", "table3_mtl", ["f1_test", "p_test", "r_test", "f1_dev"]),
        (
            "Table 4. STL data ablation, word-level test F1 by fraction removed",
            "table4_stl_data_ablation",
            list(LEVELS),
        ),
        (
            "Table 5. MTL data ablation, word-level test F1 by fraction removed",
            "table5_mtl_data_ablation",
            list(LEVELS),
        ),
        ("Table 6. STL fine-tuned from MTL without the type, word-level test F1", "table6", [*LEVELS, "stl", "mtl"]),
        (
            "Table 7. Entity level, test",
            "table7_entity_level",
            ["f1_mtl", "f1_stl", "p_mtl", "p_stl", "r_mtl", "r_stl"],
        ),
    ]
    for heading, name, columns in sections:
        if ours.get(name) is None or ours[name].empty:
            continue
        out += [f"## {heading}", "", "Each of our columns is followed by the paper's (`_paper`).", ""]
        out += [_markdown(_side_by_side(ours[name], paper[name], columns)), ""]
    return "\n".join(out) + "\n"


KIND_NAMES = {"stl": "STL", "mtl": "MTL", "stl_from_mtl": "STL from MTL without the type"}


def crf_heads_section(tables_dir: str | Path) -> list[str]:
    """ "CRF heads" (ours only; the paper's section 7 proposes the CRF) from the tables heads,
    heads_boundary_errors and heads_significance, at no data removed: per model kind the mean
    entity F1 of each head, the strict-vs-overlap gap of each, how many tasks the CRF wins and
    significantly (Holm) wins or loses, and MTL vs STL under each head. Empty without CRF jobs."""
    tables_dir = Path(tables_dir)
    heads = _read(tables_dir, "heads", required=False)
    if heads is None or heads.empty:
        return []
    boundary = _read(tables_dir, "heads_boundary_errors", required=False)
    tests = _read(tables_dir, "heads_significance", required=False)

    def full_mtl_at_zero(frame: pd.DataFrame) -> pd.DataFrame:
        """No data removed; of the MTL rows only the MTL with every type (not MTL without one)."""
        without = frame["without"].fillna("").astype(str)
        return frame[(frame["ablation"].abs() < 1e-9) & ((frame["kind"] != "mtl") | (without == ""))]

    at_zero = full_mtl_at_zero(heads)
    boundary = full_mtl_at_zero(boundary) if boundary is not None else None
    out = [
        "## CRF heads (ours only)",
        "",
        "The paper's section 7 proposes a CRF on top of the encoder for the boundaries its models miss. Here every "
        "model kind ran with both heads (docs/method.md, CRF heads), on the same data and seeds; entity-level "
        "(strict) test F1 with no data removed, mean over tasks (tables heads, heads_boundary_errors, "
        "heads_significance):",
        "",
    ]
    for kind, rows in at_zero.groupby("kind", sort=False):
        line = (
            f"- **{KIND_NAMES.get(kind, kind)}** ({len(rows)} task{'s' if len(rows) != 1 else ''}): linear {rows['entity_linear'].mean():.3f}, "
            f"CRF {rows['entity_crf'].mean():.3f} ({rows['entity_crf_minus_linear'].mean():+.3f}); the CRF is higher "
            f"on {int((rows['entity_crf_minus_linear'] > 0).sum())} of {len(rows)}"
        )
        if tests is not None and not tests.empty:
            mine = tests[(tests["kind"] == kind) & (tests["ablation"].abs() < 1e-9)]
            better = int(((mine["p_holm"] < 0.05) & (mine["delta"] > 0)).sum())
            worse = int(((mine["p_holm"] < 0.05) & (mine["delta"] < 0)).sum())
            line += f", significantly better on {better} and worse on {worse} (paired bootstrap, Holm)"
        if boundary is not None and not boundary.empty:
            gaps = boundary[boundary["kind"] == kind]
            if not gaps.empty:
                line += (
                    f"; overlap minus strict F1 (what boundary slips cost): linear "
                    f"{_fmt(gaps['overlap_gap_linear'].mean())}, CRF {_fmt(gaps['overlap_gap_crf'].mean())}"
                )
        out.append(line + ".")
    stl = at_zero[at_zero["kind"] == "stl"].set_index("task")
    mtl = at_zero[at_zero["kind"] == "mtl"].set_index("task")
    both = stl.index.intersection(mtl.index)
    if len(both):
        wins = {h: int((mtl.loc[both, f"entity_{h}"] > stl.loc[both, f"entity_{h}"]).sum()) for h in ("linear", "crf")}
        out.append(
            f"- **MTL vs STL** (entity F1): MTL is higher on {wins['linear']} of {len(both)} tasks with linear heads "
            f"and on {wins['crf']} of {len(both)} with CRF heads."
        )
    out.append("")
    columns = ["kind", "entity", "dataset", "entity_linear", "entity_crf", "entity_crf_minus_linear"]
    table = at_zero[columns]
    if boundary is not None and not boundary.empty:
        gaps = boundary[["kind", "task", "overlap_gap_linear", "overlap_gap_crf"]]
        table = at_zero[[*columns, "task"]].merge(gaps, on=["kind", "task"], how="left").drop(columns="task")
    out += [_markdown(table), ""]
    return out


def write_reference(
    results_dir: str | Path, paper_dir: str | Path, out_dir: str | Path, title: str, notes: str = ""
) -> Path:
    """The page plus copies of every table (Markdown) and figure (PNG) of the run."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    tables, figures = results_dir / "tables", results_dir / "figures"
    page = build_page(tables, paper_dir, title, notes)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    for md in sorted(tables.glob("*.md")):
        shutil.copyfile(md, out_dir / "tables" / md.name)
    for png in sorted(figures.glob("*.png")):
        shutil.copyfile(png, out_dir / "figures" / png.name)
    figure_lines = [f"![{png.stem}](figures/{png.name})" for png in sorted(figures.glob("*.png"))]
    write_text(out_dir / "README.md", page + "\n## Figures\n\n" + "\n\n".join(figure_lines) + "\n")
    return out_dir / "README.md"
