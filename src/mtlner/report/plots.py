"""Figures (PNG + SVG) from the collected results: pure functions, no model needed.

- fig4_f1_vs_size: STL test F1 against training sequences and against annotation density,
  one colour per entity type, least-squares line and Pearson r (paper Fig. 4)
- fig5_entity_ablation: class-mean test F1 of STL, MTL and STL-from-MTL-without-the-type,
  with standard-error bars over datasets (paper Fig. 5)
- fig6_stl_from_mtl: STL-from-MTL test F1 per dataset by fraction of training data removed,
  one panel per entity type, STL dashed for reference (paper Fig. 6)
- fig_data_ablation: class-mean test F1 of STL and MTL by fraction removed, per entity type

They read the linear head's rows only (``io.linear_only``); ``fig_heads_strict_overlap``
(drawn by `mtlner analysis` when CRF jobs ran) sets the two heads side by side.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only; no display on clusters
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mtlner.atomic import atomic_path  # noqa: E402
from mtlner.report.stats import pearson  # noqa: E402
from mtlner.report.io import linear_only, load_corpus_stats, load_results  # noqa: E402
from mtlner.report.tables import class_averages  # noqa: E402

COLOURS = {"cell_line": "#1b9e77", "chemical": "#d95f02", "gene": "#7570b3", "species": "#e7298a"}
KIND_LABELS = {"stl": "STL", "mtl": "MTL", "stl_from_mtl": "STL from MTL without type"}
# CRF-head jobs where a figure files them as kinds of their own (the cross-corpus heat maps)
KIND_LABELS |= {f"{kind}_crf": f"{label}, CRF" for kind, label in list(KIND_LABELS.items())}


def figure_names(entity_ablation: bool = True) -> list[str]:
    names = ["fig4_f1_vs_size", "fig_data_ablation"]
    if entity_ablation:
        names += ["fig5_entity_ablation", "fig6_stl_from_mtl"]
    return names


def _colour(entity: str, index: int) -> str:
    return COLOURS.get(entity, f"C{index % 10}")


# Same figure, same bytes: matplotlib's SVG writer otherwise stamps the creation date and draws
# its element ids (clip paths, glyphs) from a random salt. Its PNG writer adds no date, only a
# "Software" text naming the matplotlib version (fixed for a given environment), left as it is
# so PNGs stay byte-identical to those of earlier commits.
SVG_HASHSALT = "mtlner"
METADATA = {"svg": {"Date": None}, "png": None}


def _save(fig, base: Path) -> None:
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        for ext in ("png", "svg"):
            with atomic_path(f"{base}.{ext}") as tmp:
                fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight", metadata=METADATA[ext])
    plt.close(fig)


def _stl_points(results, corpus):
    sub = results[
        (results["kind"] == "stl")
        & (results["ablation"] == 0)
        & (results["split"] == "test")
        & (results["level"] == "word")
    ]
    per_task = sub.groupby("task")[["f1", "train_windows_total"]].mean()
    per_task["f1_sd"] = sub.groupby("task")["f1"].std(ddof=1)  # NaN with one seed: no error bar
    return per_task.reset_index().merge(corpus[["task", "entity", "dataset", "density_train"]], on="task")


def _seed_sd(values) -> np.ndarray | None:
    """Error bars over seeds: the sd where some point has several seeds, else None (no bars)."""
    values = np.asarray(values, dtype=float)
    return None if np.isnan(values).all() else np.nan_to_num(values)


def fig4_f1_vs_size(results, corpus):
    data = _stl_points(results, corpus)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    panels = (
        ("train_windows_total", "training sequences (log scale)", True),
        ("density_train", "annotation density (mentions per token)", False),
    )
    for ax, (column, label, log_x) in zip(axes, panels):
        for i, (entity, group) in enumerate(data.groupby("entity")):
            ax.scatter(
                group[column],
                group["f1"],
                color=_colour(entity, i),
                label=entity,
                s=40,
                edgecolor="black",
                linewidth=0.5,
            )
            sd = _seed_sd(group["f1_sd"])
            if sd is not None:
                ax.errorbar(
                    group[column], group["f1"], yerr=sd, fmt="none", ecolor=_colour(entity, i), capsize=2, linewidth=0.8
                )
            for _, row in group.iterrows():
                ax.annotate(
                    row["dataset"], (row[column], row["f1"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
        x = np.log10(data[column]) if log_x else data[column]
        fit = pearson(x, data["f1"])
        if fit["n"] >= 3 and not np.isnan(fit["r"]):
            slope, intercept = np.polyfit(x, data["f1"], 1)
            grid = np.linspace(x.min(), x.max(), 50)
            ax.plot(
                10**grid if log_x else grid,
                slope * grid + intercept,
                color="grey",
                linestyle="--",
                label=f"fit: r={fit['r']:.2f}, p={fit['p']:.2g}",
            )
        if log_x:
            ax.set_xscale("log")
            # plain numbers: log-scale tick labels collide when the sizes span less than a decade
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("STL word-level test F1 (± sd over seeds)")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle("STL test F1 against training-set size and annotation density")
    return fig


def fig5_entity_ablation(results, corpus):
    avg = class_averages(results, corpus)
    avg = avg[(avg["level"] == "word") & (avg["ablation"] == 0)]
    entities = sorted(avg["entity"].unique())
    kinds = [k for k in ("stl", "mtl", "stl_from_mtl") if k in set(avg["kind"])]
    fig, ax = plt.subplots(figsize=(max(5, 1.8 * len(entities)), 4))
    width = 0.8 / max(1, len(kinds))
    for k, kind in enumerate(kinds):
        rows = avg[avg["kind"] == kind].set_index("entity").reindex(entities)
        positions = np.arange(len(entities)) + (k - (len(kinds) - 1) / 2) * width
        ax.bar(
            positions,
            rows["f1_mean"],
            width,
            yerr=rows["f1_se"].fillna(0),
            capsize=3,
            label=KIND_LABELS[kind],
            color=f"C{k}",
        )
    ax.set_xticks(np.arange(len(entities)), entities)
    ax.set_ylabel("mean word-level test F1 over datasets (± se)")
    ax.set_ylim(0, 1.15)
    ax.legend(fontsize=8, ncols=len(kinds), loc="upper center")
    ax.set_title("Entity ablation: fine-tuning from an MTL encoder that never saw the type")
    return fig


def _entity_panels(n: int):
    cols = min(n, 2) or 1
    rows = (n + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False, sharey=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def fig6_stl_from_mtl(results, corpus):
    test = results[(results["split"] == "test") & (results["level"] == "word")].merge(
        corpus[["task", "entity", "dataset"]], on="task"
    )
    entities = sorted(corpus["entity"].unique())
    fig, axes = _entity_panels(len(entities))
    for ax, entity in zip(axes, entities):
        for i, (task, group) in enumerate(test[test["entity"] == entity].groupby("task")):
            colour = f"C{i % 10}"
            ea = group[(group["kind"] == "stl_from_mtl") & (group["without"] == entity)].groupby("ablation")["f1"]
            stl = group[group["kind"] == "stl"].groupby("ablation")["f1"]
            name = group["dataset"].iloc[0]
            for series, style, label in (
                (ea, dict(marker="o"), "from MTL"),
                (stl, dict(linestyle="--", alpha=0.6), "STL"),
            ):
                mean = series.mean()
                ax.errorbar(
                    mean.index,
                    mean.values,
                    yerr=_seed_sd(series.std(ddof=1).reindex(mean.index)),
                    capsize=2,
                    color=colour,
                    label=f"{name} ({label})",
                    **style,
                )
        ax.set_title(entity)
        ax.set_xlabel("fraction of training data removed")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("word-level test F1 (± sd over seeds)")
    fig.suptitle("STL fine-tuned from MTL trained without the entity type")
    fig.tight_layout()
    return fig


def fig_data_ablation(results, corpus):
    avg = class_averages(results, corpus)
    avg = avg[avg["level"] == "word"]
    entities = sorted(avg["entity"].unique())
    fig, axes = _entity_panels(len(entities))
    for ax, entity in zip(axes, entities):
        for k, kind in enumerate(("stl", "mtl", "stl_from_mtl")):
            rows = avg[(avg["entity"] == entity) & (avg["kind"] == kind)].sort_values("ablation")
            if not rows.empty:
                ax.errorbar(
                    rows["ablation"],
                    rows["f1_mean"],
                    yerr=rows["f1_se"].fillna(0),
                    marker="o",
                    capsize=3,
                    label=KIND_LABELS[kind],
                    color=f"C{k}",
                )
        ax.set_title(entity)
        ax.set_xlabel("fraction of training data removed")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean word-level test F1 (± se)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Data ablation: class-mean test F1")
    fig.tight_layout()
    return fig


# Error-analysis figures, drawn by `mtlner analysis` from its own tables (mtlner.report.analysis),
# not from the collected metrics: they are not in BUILDERS or figure_names().


def fig_unseen_data_ablation(seen_unseen):
    """Class-mean entity-level test F1 on unseen (solid) and seen (dashed) test mentions by
    fraction of training data removed, one panel per entity type."""
    data = seen_unseen[(seen_unseen["kind"] != "stl_from_mtl") | (seen_unseen["without"] == seen_unseen["entity"])]
    entities = sorted(data["entity"].unique())
    fig, axes = _entity_panels(len(entities))
    for ax, entity in zip(axes, entities):
        for k, kind in enumerate(KIND_LABELS):
            rows = data[(data["entity"] == entity) & (data["kind"] == kind)]
            for part, style in (("unseen", dict(marker="o")), ("seen", dict(marker=".", linestyle="--", alpha=0.6))):
                series = rows.groupby("ablation")[f"f1_{part}"]
                mean = series.mean().dropna()
                if mean.empty:
                    continue
                se = (series.std(ddof=1) / np.sqrt(series.count())).reindex(mean.index).fillna(0)
                ax.errorbar(
                    mean.index,
                    mean.values,
                    yerr=se.values,
                    capsize=3,
                    color=f"C{k}",
                    label=f"{KIND_LABELS[kind]}, {part}",
                    **style,
                )
        ax.set_title(entity)
        ax.set_xlabel("fraction of training data removed")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("mean entity-level test F1 (± se)")
    fig.suptitle("Data ablation on test mentions unseen in the kept training data (solid) and seen (dashed)")
    fig.tight_layout()
    return fig


BOUNDARY_OUTCOMES = {"exact": "#1b9e77", "boundary": "#d95f02", "missed": "#999999", "spurious": "#e7298a"}


def fig_boundary_errors(boundary, kind):
    """Per task, no data removed: shares of exact, boundary-only, missed and spurious mentions
    (stacked, mean over seeds), strict and overlap F1 above each bar."""
    rows = boundary[(boundary["kind"] == kind) & (boundary["ablation"] == 0)]
    if kind == "stl_from_mtl":
        rows = rows[rows["without"] == rows["entity"]]
    rows = rows.sort_values(["entity", "dataset"])
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(rows) + 2), 4.2))
    total = rows[list(BOUNDARY_OUTCOMES)].sum(axis=1).replace(0, np.nan)
    bottom = np.zeros(len(rows))
    positions = np.arange(len(rows))
    for outcome, colour in BOUNDARY_OUTCOMES.items():
        share = (rows[outcome] / total).fillna(0).to_numpy()
        ax.bar(
            positions,
            share,
            0.7,
            bottom=bottom,
            color=colour,
            label="boundary only" if outcome == "boundary" else outcome,
        )
        bottom += share
    for x, (_, row) in zip(positions, rows.iterrows()):
        ax.annotate(
            f"{row['f1_strict']:.2f}/{row['f1_overlap']:.2f}",
            (x, 1.0),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )
    ax.set_xticks(positions, [f"{r.dataset}\n({r.entity})" for r in rows.itertuples()], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of outcomes (mean over seeds)")
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.set_title(
        f"{KIND_LABELS.get(kind, kind)}, no data removed: outcomes of test mentions (F1 strict/overlap above)",
        fontsize=10,
    )
    return fig


HEAD_COLOURS = {"linear": "#1b9e77", "crf": "#d95f02"}


def fig_heads_strict_overlap(heads_boundary):
    """Per task, no data removed (else the smallest fraction removed that CRF jobs ran at):
    strict (filled) and overlap (hollow) entity-level test F1 of the linear and the CRF head
    side by side, joined by a line whose length is the boundary-error gap; one panel per kind
    (table heads_boundary_errors)."""
    rows = heads_boundary[
        (heads_boundary["kind"] != "stl_from_mtl") | (heads_boundary["without"] == heads_boundary["entity"])
    ]
    rows = rows[(rows["kind"] != "mtl") | (rows["without"] == "")]
    kinds = [k for k in KIND_LABELS if k in set(rows["kind"])]
    widest = max([len(rows[rows["kind"] == k]["task"].unique()) for k in kinds], default=1)
    fig, axes = plt.subplots(
        1, max(1, len(kinds)), figsize=(max(5, 0.9 * widest + 2) * max(1, len(kinds)), 4.2), squeeze=False, sharey=True
    )
    axes = list(axes.flat)
    if not kinds:
        axes[0].text(0.5, 0.5, "no CRF jobs with predictions", ha="center", va="center", transform=axes[0].transAxes)
    for ax, kind in zip(axes, kinds):
        sub = rows[rows["kind"] == kind]
        sub = sub[(sub["ablation"] - sub["ablation"].min()).abs() < 1e-9].sort_values(["entity", "dataset"])
        positions = np.arange(len(sub))
        for offset, head in ((-0.15, "linear"), (0.15, "crf")):
            x = positions + offset
            strict, overlap = sub[f"f1_strict_{head}"].to_numpy(), sub[f"f1_overlap_{head}"].to_numpy()
            colour = HEAD_COLOURS[head]
            ax.vlines(x, strict, overlap, color=colour, linewidth=1.5)
            ax.scatter(x, strict, color=colour, s=36, zorder=3, label=f"{head}, strict")
            ax.scatter(x, overlap, facecolor="white", edgecolor=colour, s=36, zorder=3, label=f"{head}, overlap")
        ax.set_xticks(positions, [f"{r.dataset}\n({r.entity})" for r in sub.itertuples()], fontsize=8)
        ax.set_xlim(-0.6, len(sub) - 0.4)
        ablation = sub["ablation"].min() if len(sub) else 0.0
        removed = "no data removed" if ablation == 0 else f"{ablation:g} of training data removed"
        ax.set_title(f"{KIND_LABELS[kind]}, {removed}", fontsize=10)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("entity-level test F1 (mean over seeds)")
    axes[0].legend(fontsize=8, ncols=2, loc="lower left")
    fig.suptitle("Linear against CRF head: strict (filled) and overlap (hollow) F1; the line is the boundary gap")
    fig.tight_layout()
    return fig


BUILDERS = {
    "fig4_f1_vs_size": fig4_f1_vs_size,
    "fig5_entity_ablation": fig5_entity_ablation,
    "fig6_stl_from_mtl": fig6_stl_from_mtl,
    "fig_data_ablation": fig_data_ablation,
}


def write_all_figures(results_csv, corpus_stats, out_dir) -> list[Path]:
    results = linear_only(load_results(results_csv))  # the paper's figures: the linear head's jobs
    corpus = load_corpus_stats(corpus_stats)
    names = figure_names(entity_ablation=(results["kind"] == "stl_from_mtl").any())
    written = []
    for name in names:
        base = Path(out_dir) / name
        _save(BUILDERS[name](results, corpus), base)
        written += [Path(f"{base}.png"), Path(f"{base}.svg")]
    return written
