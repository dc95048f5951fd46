"""Paper-style tables from the collected results (pure functions of the CSV and corpus stats).

Every table is written as CSV (full precision) and Markdown (3 decimals; :func:`mtlner.report.io.write_table`). Where several seeds
ran, a table holds the mean over seeds and an ``<column>_sd`` column beside it; Markdown shows
``mean ± sd``. Scores are word-level (the paper's Tables 2-6) unless the table says entity.
"word" is the paper's own word metric (B and I merged, each word read from its last subword,
see ``mtlner.training.metrics``); ``word_strict`` (B and I distinct) and ``entity`` (strict spans) sit
beside it in ``metric_levels`` and ``class_averages``.

The paper's tables read the linear head's rows only (``io.linear_only`` in :func:`build_tables`
and :func:`write_all_tables`); with CRF rows, ``heads`` and ``heads_significance`` compare the
two heads (``mtlner.report.heads``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mtlner.errors import UserError
from mtlner.report import heads as head_tables
from mtlner.report.io import has_crf, linear_only, load_corpus_stats, load_results, write_table
from mtlner.report.stats import pearson

WORD, WORD_STRICT, ENTITY = "word", "word_strict", "entity"


def table_names(
    entity_ablation: bool = True,
    paper: bool = True,
    significance: bool = True,
    baseline: bool = False,
    heads=("linear",),
) -> list[str]:
    """The tables `mtlner tables` writes; ``heads``: the heads of the grid (config ``heads``),
    the CRF comparisons only when ``crf`` is among them."""
    names = ["table1_corpus", "table2_stl", "table3_mtl", "table4_stl_data_ablation", "table5_mtl_data_ablation"]
    if entity_ablation:
        names.append("table6_entity_ablation")
    names += ["table7_entity_level", "metric_levels", "class_averages", "correlations"]
    if baseline:
        names.append("recipes")
    if paper:
        names.append("paper_comparison")
    if significance:
        names.append("significance")
    if "crf" in heads:
        names += ["heads"] + (["heads_significance"] if significance else [])
    return names


# --------------------------------------------------------------------------- helpers


def _select(
    results: pd.DataFrame, kind: str, level: str = WORD, ablation: float | None = 0.0, without: str | None = ""
) -> pd.DataFrame:
    keep = (results["kind"] == kind) & (results["level"] == level)
    if ablation is not None:
        keep &= (results["ablation"] - ablation).abs() < 1e-9
    if without is not None:
        keep &= results["without"] == without
    return results[keep]


def _mean_sd(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Mean over seeds; ``<value>_sd`` columns only where some group has several seeds."""
    grouped = frame.groupby(keys, sort=False)[values]
    out = grouped.mean()
    if grouped.size().max() > 1:
        sd = grouped.std(ddof=1).add_suffix("_sd")
        out = out.join(sd)
    return out.reset_index()


def _with_names(frame: pd.DataFrame, corpus: pd.DataFrame) -> pd.DataFrame:
    named = corpus[["task", "entity", "dataset"]].merge(frame, on="task", how="inner")
    return named.sort_values(["entity", "dataset"]).reset_index(drop=True)


def _split_scores(sub: pd.DataFrame, suffix: str = "") -> pd.DataFrame:
    """Per task: p/r/f1 on dev and test as columns f1_dev, f1_test, ... (mean over seeds)."""
    agg = _mean_sd(sub, ["task", "split"], ["precision", "recall", "f1"])
    wide = agg.pivot(index="task", columns="split")
    short = {"precision": "p", "recall": "r", "f1": "f1"}
    wide.columns = [
        f"{short[m.removesuffix('_sd')]}_{split}{suffix}{'_sd' if m.endswith('_sd') else ''}"
        for m, split in wide.columns
    ]
    # the paper's column order: f1, p, r; dev before test; each sd right after its mean
    rank = {"f1": 0, "p": 1, "r": 2, "dev": 0, "test": 1}
    ordered = sorted(
        wide.columns, key=lambda c: (rank[c.split("_")[0]], rank.get(c.split("_")[1], 2), c.endswith("_sd"))
    )
    return wide[ordered].reset_index()


def _ablation_wide(sub: pd.DataFrame) -> pd.DataFrame:
    """Test F1 per ablation level as columns a0.00, a0.25, ... (mean over seeds)."""
    test = sub[sub["split"] == "test"]
    agg = _mean_sd(test, ["task", "ablation"], ["f1"])
    frames = []
    for column, name in (("f1", "{a:.2f}"), ("f1_sd", "{a:.2f}_sd")):
        if column in agg:
            wide = agg.pivot(index="task", columns="ablation", values=column)
            wide.columns = ["a" + name.format(a=a) for a in wide.columns]
            frames.append(wide)
    out = pd.concat(frames, axis=1)
    ordered = sorted(out.columns, key=lambda c: (c.removesuffix("_sd"), c.endswith("_sd")))
    return out[ordered].reset_index()


def _test_f1(results: pd.DataFrame, kind: str, name: str, level: str = WORD) -> pd.DataFrame:
    sub = _select(results, kind, level)
    agg = _mean_sd(sub[sub["split"] == "test"], ["task"], ["f1"])
    return agg.rename(columns={"f1": name, "f1_sd": f"{name}_sd"})


# --------------------------------------------------------------------------- the tables


def table1_corpus(corpus: pd.DataFrame) -> pd.DataFrame:
    columns = ["entity", "dataset", "task"]
    columns += [f"{kind}_{split}" for kind in ("total", "unique") for split in ("train", "dev", "test")]
    columns += ["sentences_train", "tokens_train", "density_train"]
    return corpus[columns]


def table2_stl(results, corpus):
    sub = _select(results, "stl")
    epochs = _mean_sd(sub[sub["split"] == "test"], ["task"], ["best_epoch"]).rename(
        columns={"best_epoch": "epoch", "best_epoch_sd": "epoch_sd"}
    )
    return _with_names(epochs.merge(_split_scores(sub), on="task"), corpus)


def _p_vs_stl(significance: pd.DataFrame | None) -> pd.DataFrame:
    """Per task: p (and Holm-adjusted p) of MTL vs STL at ablation 0, from the bootstrap table."""
    if significance is None:
        return pd.DataFrame({"task": []})
    sub = significance[(significance["comparison"] == "mtl_vs_stl") & (significance["ablation"] == 0)]
    return sub[["task", "p", "p_holm"]].rename(columns={"p": "p_vs_stl", "p_holm": "p_vs_stl_holm"})


def table3_mtl(results, corpus, significance=None):
    mtl = _split_scores(_select(results, "mtl"))
    mtl = mtl.merge(_test_f1(results, "stl", "f1_stl"), on="task", how="left")
    if significance is not None:
        mtl = mtl.merge(_p_vs_stl(significance), on="task", how="left")
    return _with_names(mtl, corpus)


def table_data_ablation(results, corpus, kind):
    return _with_names(_ablation_wide(_select(results, kind, ablation=None)), corpus)


def table6_entity_ablation(results, corpus):
    frames = []
    for entity, group in corpus.groupby("entity"):
        sub = _select(results, "stl_from_mtl", ablation=None, without=entity)
        sub = sub[sub["task"].isin(group["task"])]
        if not sub.empty:
            frames.append(_ablation_wide(sub))
    wide = pd.concat(frames) if frames else pd.DataFrame({"task": []})
    wide = wide.merge(_test_f1(results, "stl", "stl"), on="task", how="left")
    wide = wide.merge(_test_f1(results, "mtl", "mtl"), on="task", how="left")
    return _with_names(wide, corpus)


def table7_entity_level(results, corpus, significance=None):
    parts = []
    for kind in ("mtl", "stl"):
        sub = _select(results, kind, ENTITY)
        scores = _split_scores(sub[sub["split"] == "test"], suffix=f"_{kind}")
        scores.columns = [c.replace(f"_test_{kind}", f"_{kind}") for c in scores.columns]
        parts.append(scores)
    merged = parts[0].merge(parts[1], on="task", how="outer")
    order = ["task"] + [f"{m}_{k}{sd}" for m in ("f1", "p", "r") for k in ("mtl", "stl") for sd in ("", "_sd")]
    merged = merged[[c for c in order if c in merged]]
    if significance is not None:
        merged = merged.merge(_p_vs_stl(significance), on="task", how="left")
    return _with_names(merged, corpus)


def metric_levels(results, corpus):
    """Test F1 of STL and MTL (no data removed) at the three metric levels side by side, so a
    reader sees how much of a score is the paper's lenient word metric."""
    parts = []
    for kind in ("stl", "mtl"):
        for level, column in ((WORD, "word"), (WORD_STRICT, "word_strict"), (ENTITY, "entity")):
            if (results["level"] == level).any():
                parts.append(_test_f1(results, kind, f"{column}_{kind}", level))
    if not parts:
        return pd.DataFrame({"task": []})
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on="task", how="outer")
    return _with_names(merged, corpus)


def recipes(results, corpus):
    """The configured recipe (STL jobs: the config's windowing and training section, the
    paper's by default) beside the standard Hugging Face recipe (kind baseline) on the same
    task and seeds, no data removed: test F1 at the paper's word level and at entity level,
    and training seconds."""
    parts = []
    for kind, name in (("stl", "stl"), ("baseline", "standard")):
        for level, column in ((WORD, "word"), (ENTITY, "entity")):
            parts.append(_test_f1(results, kind, f"{column}_{name}", level))
        sub = _select(results, kind, ENTITY)
        sub = sub[sub["split"] == "test"]
        parts.append(
            _mean_sd(sub, ["task"], ["train_seconds", "epochs"]).rename(
                columns=lambda c: c if c == "task" else f"{c}_{name}"
            )
        )
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on="task", how="outer")
    merged["entity_standard_minus_stl"] = merged["entity_standard"] - merged["entity_stl"]
    return _with_names(merged, corpus)


def significance_table(significance: pd.DataFrame, corpus) -> pd.DataFrame:
    """Every bootstrap comparison: entity-level test F1 of A and B, difference, 95% interval, p."""
    columns = [
        "comparison",
        "kind",
        "without",
        "task",
        "ablation",
        "baseline",
        "f1_a",
        "f1_b",
        "delta",
        "ci_low",
        "ci_high",
        "p",
        "p_holm",
        "documents",
        "seeds",
        "note",
    ]
    columns = [c for c in columns if c in significance]  # note: frames from before it existed lack it
    named = corpus[["task", "entity", "dataset"]].merge(significance[columns], on="task", how="inner")
    order = {"mtl_vs_stl": 0, "stl_from_mtl_vs_stl": 1, "ablation_vs_0": 2, "crf_vs_linear": 3}
    named = named.assign(_order=named["comparison"].map(order)).sort_values(
        ["_order", "kind", "ablation", "entity", "dataset"]
    )
    first = ["comparison", "kind", "without", "ablation", "baseline", "entity", "dataset", "task"]
    return named[first + [c for c in columns if c not in first]].reset_index(drop=True)


def class_averages(results, corpus):
    """Unweighted mean (and standard error) over the datasets of each entity type."""
    test = results[results["split"] == "test"].merge(corpus[["task", "entity"]], on="task")
    same_type = test["kind"] != "stl_from_mtl"
    same_type |= test["without"] == test["entity"]
    test = test[same_type & ((test["without"] == "") | (test["kind"] == "stl_from_mtl"))]
    per_task = test.groupby(["entity", "kind", "level", "ablation", "task"])["f1"].mean().reset_index()
    grouped = per_task.groupby(["entity", "kind", "level", "ablation"])["f1"]
    out = grouped.agg(f1_mean="mean", f1_sd="std", n_datasets="count").reset_index()
    out["f1_se"] = out["f1_sd"] / out["n_datasets"].pow(0.5)
    return out.drop(columns="f1_sd")


def correlations(results, corpus):
    """Pearson r between test F1 (ablation 0) and dataset features, per model kind and level."""
    features = corpus[["task", "density_train", "tokens_train"]].copy()
    rows = []
    for kind in ("stl", "mtl"):
        for level in (WORD, WORD_STRICT, ENTITY):
            sub = _select(results, kind, level)
            if sub.empty:
                continue
            sub = sub[sub["split"] == "test"].groupby("task")[["f1", "train_windows_total"]].mean().reset_index()
            data = sub.merge(features, on="task")
            for feature, label in (
                ("density_train", "annotation density (mentions/token)"),
                ("train_windows_total", "training sequences"),
                ("tokens_train", "training tokens"),
            ):
                rows.append({"kind": kind, "level": level, "feature": label, **pearson(data[feature], data["f1"])})
    return pd.DataFrame(rows)


def paper_comparison(results, corpus, paper_dir: str | Path) -> pd.DataFrame:
    """Our STL/MTL word-level test F1 beside the paper's, for tasks whose dataset the paper has."""
    paper_dir = Path(paper_dir)
    columns = [
        "entity",
        "dataset",
        "task",
        "f1_stl",
        "f1_stl_paper",
        "f1_mtl",
        "f1_mtl_paper",
        "total_train",
        "total_train_paper",
    ]
    try:
        stl = pd.read_csv(paper_dir / "table2_stl.csv")[["entity", "dataset", "f1_test"]].rename(
            columns={"f1_test": "f1_stl_paper"}
        )
        mtl = pd.read_csv(paper_dir / "table3_mtl.csv")[["entity", "dataset", "f1_test"]].rename(
            columns={"f1_test": "f1_mtl_paper"}
        )
        t1 = pd.read_csv(paper_dir / "table1_mentions.csv")[["entity", "dataset", "total_train"]]
    except (OSError, KeyError) as err:
        raise UserError(
            f"cannot read the paper's tables in {paper_dir}: {err}", hint="set paper_dir to resources/paper or to ''"
        ) from err
    paper = stl.merge(mtl, on=["entity", "dataset"]).merge(
        t1.rename(columns={"total_train": "total_train_paper"}), on=["entity", "dataset"]
    )
    ours = corpus[["task", "entity", "dataset", "total_train"]].copy()
    ours["key"] = ours["dataset"].str.upper()
    paper["key"] = paper["dataset"].str.upper()
    ours = ours.merge(_test_f1(results, "stl", "f1_stl"), on="task", how="left")
    ours = ours.merge(_test_f1(results, "mtl", "f1_mtl"), on="task", how="left")
    merged = ours.merge(paper.drop(columns="dataset"), on=["entity", "key"], how="inner")
    merged["delta_stl"] = merged["f1_stl"] - merged["f1_stl_paper"]
    merged["delta_mtl"] = merged["f1_mtl"] - merged["f1_mtl_paper"]
    return merged[columns + ["delta_stl", "delta_mtl"]].reset_index(drop=True)


# --------------------------------------------------------------------------- output


TITLES = {
    "table1_corpus": "Table 1. Mentions per split (total, unique), training sentences, tokens and annotation density",
    "table2_stl": "Table 2. STL, word-level scores (the paper's metric: B and I merged, last subword per word) at the best dev epoch",
    "table3_mtl": "Table 3. MTL, word-level scores, beside STL test F1; p_vs_stl: paired bootstrap over test documents of "
    "entity-level F1, MTL vs STL (p_vs_stl_holm: Holm-corrected across tasks)",
    "table4_stl_data_ablation": "Table 4. STL data ablation: word-level test F1 by fraction of training data removed",
    "table5_mtl_data_ablation": "Table 5. MTL data ablation: word-level test F1 by fraction of training data removed",
    "table6_entity_ablation": "Table 6. Entity ablation: STL fine-tuned from MTL trained without the task's entity type, word-level test F1",
    "table7_entity_level": "Table 7. Entity-level (strict) test scores, MTL and STL; p_vs_stl: paired bootstrap over test "
    "documents, MTL vs STL (p_vs_stl_holm: Holm-corrected across tasks)",
    "significance": "Significance: paired bootstrap over test documents of entity-level test F1, A (kind, ablation) minus B "
    "(baseline); 95% bootstrap interval of the difference; p two-sided, p_holm Holm-corrected across the tasks of each "
    "(comparison, kind, ablation); several seeds: difference of seed means, documents drawn once per round for all seeds; note: UNRELIABLE where the "
    "test split has fewer than 20 documents to resample",
    "metric_levels": "Test F1 (no data removed) at the three metric levels: word (the paper's: B and I merged, last "
    "subword), word_strict (B and I must match), entity (strict span match)",
    "recipes": "Recipes: the configured one (STL jobs; the paper's by default: packed windows, loss on every subword, "
    "constant learning rate) beside the standard Hugging Face recipe (baseline: one sentence per window, loss on first "
    "subwords, linear decay), same tasks, seeds and epochs, no data removed: test F1 (word = the paper's word metric, "
    "entity = strict spans) and training seconds",
    "class_averages": "Class averages: unweighted mean test F1 over the datasets of each entity type (se = standard error)",
    "correlations": "Pearson correlation of test F1 with dataset features (ablation 0)",
    "paper_comparison": "Our word-level test F1 beside the paper's (Rodriguez et al. 2022, Tables 1-3)",
    "heads": "Linear head (the paper's) against CRF head: test F1 at the three metric levels (word, word_strict, "
    "entity) per job kind, task and fraction of training data removed, mean over seeds, and CRF minus linear "
    "(difference of the seed means); seeds_<head>: seeds run",
    "heads_significance": "CRF head against linear head: paired bootstrap over test documents of entity-level test "
    "F1, A (crf) minus B (linear), same seeds paired; 95% bootstrap interval of the difference; p two-sided, p_holm "
    "Holm-corrected across the tasks of each (kind, ablation); note: UNRELIABLE where the test split has fewer than "
    "20 documents to resample",
}


def build_tables(
    results: pd.DataFrame,
    corpus: pd.DataFrame,
    paper_dir=None,
    names=None,
    significance=None,
    head_significance=None,
) -> dict[str, pd.DataFrame]:
    """``significance``: the frame of ``bootstrap.significance`` (p-value columns and table), or None;
    ``head_significance``: that of ``bootstrap.head_significance`` (CRF vs linear), or None."""
    every_head, results = results, linear_only(results)
    builders = {
        "table1_corpus": lambda: table1_corpus(corpus),
        "table2_stl": lambda: table2_stl(results, corpus),
        "table3_mtl": lambda: table3_mtl(results, corpus, significance),
        "table4_stl_data_ablation": lambda: table_data_ablation(results, corpus, "stl"),
        "table5_mtl_data_ablation": lambda: table_data_ablation(results, corpus, "mtl"),
        "table6_entity_ablation": lambda: table6_entity_ablation(results, corpus),
        "table7_entity_level": lambda: table7_entity_level(results, corpus, significance),
        "metric_levels": lambda: metric_levels(results, corpus),
        "recipes": lambda: recipes(results, corpus),
        "class_averages": lambda: class_averages(results, corpus),
        "correlations": lambda: correlations(results, corpus),
        "paper_comparison": lambda: paper_comparison(results, corpus, paper_dir),
        "significance": lambda: significance_table(significance, corpus),
        "heads": lambda: head_tables.heads_table(every_head, corpus),
        "heads_significance": lambda: significance_table(head_significance, corpus),
    }
    if names is None:
        has_ea = (results["kind"] == "stl_from_mtl").any()
        has_baseline = (results["kind"] == "baseline").any()
        names = table_names(
            entity_ablation=has_ea,
            paper=bool(paper_dir),
            significance=significance is not None,
            baseline=has_baseline,
            heads=head_tables.heads_in(every_head),
        )
    return {name: builders[name]() for name in names}


def write_all_tables(
    results_csv, corpus_stats, out_dir, paper_dir=None, predictions=None, rounds: int = 1000, seed: int = 1
) -> list[Path]:
    """All tables; with ``predictions`` (every job's predictions/<task>.test.tsv) also the
    bootstrap p-values (table3, table7) and the significance table. With CRF rows also the
    head comparisons (``heads``; with predictions ``heads_significance``)."""
    every_head = load_results(results_csv)
    results = linear_only(every_head)
    corpus = load_corpus_stats(corpus_stats)
    has_ea = (results["kind"] == "stl_from_mtl").any()
    has_baseline = (results["kind"] == "baseline").any()
    names = table_names(
        entity_ablation=has_ea,
        paper=bool(paper_dir),
        significance=bool(predictions),
        baseline=has_baseline,
        heads=head_tables.heads_in(every_head),
    )
    sig = head_sig = None
    if predictions:
        from mtlner.report.bootstrap import head_significance, significance

        sig = significance(results, predictions, rounds=rounds, seed=seed)
        if has_crf(every_head):
            head_sig = head_significance(every_head, predictions, rounds=rounds, seed=seed)
    written = []
    for name, frame in build_tables(every_head, corpus, paper_dir, names, sig, head_sig).items():
        written += write_table(frame, Path(out_dir) / name, TITLES[name])
    return written
