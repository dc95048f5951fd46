"""Linear against CRF head in the report (issue 21): the head column, the comparison tables,
their significance and figure, and the paper's outputs unchanged by CRF jobs.

The fixture: STL and MTL jobs on two gene tasks, no data removed, each with ten test documents
holding one gold mention "alpha gene" (B I O). A job with k boundary slips predicts "alpha"
alone (B O O) in k documents and the exact span in the rest, so its strict F1 is (10 - k) / 10,
its overlap F1 is 1, and every gold mention is unseen in training (whose forms are alpha, beta).
The linear head slips more often than the CRF head; CRF also ran a third seed."""

import json
import math
from statistics import mean, stdev

import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from mtlner.data.windows import save_windows
from mtlner.report import analysis, plots
from mtlner.report.analysis import write_analysis
from mtlner.report.bootstrap import head_significance, significance
from mtlner.report.io import load_corpus_stats
from mtlner.report.results import COLUMNS, collect_metrics
from mtlner.report.tables import build_tables, table_names, write_all_tables
from tests.helpers import write
from tests.helpers.windows import window

TASKS = {"t1": "D1", "t2": "D2"}
DOCUMENTS = 10
# boundary slips per (head, kind, task, seed)
SLIPS = {
    ("linear", "stl", "t1"): {1: 4, 2: 2},
    ("linear", "stl", "t2"): {1: 3, 2: 3},
    ("linear", "mtl", "t1"): {1: 5, 2: 1},
    ("linear", "mtl", "t2"): {1: 2, 2: 4},
    ("crf", "stl", "t1"): {1: 1, 2: 0, 3: 0},
    ("crf", "stl", "t2"): {1: 3, 2: 2, 3: 1},
    ("crf", "mtl", "t1"): {1: 0, 2: 0, 3: 2},
    ("crf", "mtl", "t2"): {1: 1, 2: 2, 3: 0},
}
WORD_BONUS, WORD_STRICT_BONUS = 0.05, 0.02  # word-level F1 = strict + bonus (the paper's metric is lenient)


def strict(slips: int) -> float:
    return (DOCUMENTS - slips) / DOCUMENTS


def _predictions(slips: int) -> str:
    lines = []
    for doc in range(DOCUMENTS):
        predicted = ("B", "O") if doc < slips else ("B", "I")
        lines += [f"-DOCSTART-\t{doc}\tO\tO", ""]
        lines += [f"alpha\tB\t{predicted[0]}", f"gene\tI\t{predicted[1]}", "binds\tO\tO", ""]
    return "\n".join(lines) + "\n"


def _job_rows(tmp_path, head, kind, task, seed, slips) -> tuple[list[dict], object]:
    folder = tmp_path / ("crf" if head == "crf" else "") / kind / task / "ablation_0.0" / f"seed_{seed}"
    prediction = write(folder / "predictions" / f"{task}.test.tsv", _predictions(slips))
    rows = []
    for split in ("dev", "test"):
        for level, bonus in (("word", WORD_BONUS), ("word_strict", WORD_STRICT_BONUS), ("entity", 0.0)):
            f1 = strict(slips) + bonus
            rows.append(
                {"kind": kind, "head": head, "without": "", "task": task, "entity_type": "gene", "ablation": 0.0,
                 "seed": seed, "best_epoch": 2, "epochs": 3, "train_windows": 2, "train_windows_total": 2 + seed,
                 "train_seconds": 1.0, "split": split, "level": level, "precision": f1, "recall": f1, "f1": f1,
                 "tp": 1, "predicted": 1, "gold": 1, "source": str(folder / "metrics.json")}
            )  # fmt: skip
    return rows, prediction


def grid(tmp_path, heads=("linear", "crf")):
    """Result rows (collected results' columns) and the prediction files of the fixture's jobs."""
    rows, predictions = [], []
    for (head, kind, task), per_seed in SLIPS.items():
        for seed, slips in per_seed.items():
            if head in heads:
                job, prediction = _job_rows(tmp_path, head, kind, task, seed, slips)
                rows += job
                predictions.append(prediction)
    return pd.DataFrame(rows, columns=COLUMNS), predictions


def corpus_stats(tmp_path) -> list:
    paths = []
    for task, dataset in TASKS.items():
        split = {"mentions": 10, "unique_mentions": 3, "sentences": 10, "tokens": 30 + 7 * int(task[1]), "density": 0.3}
        splits = {
            s: split | {"density": 0.1 * (1 + i) + 0.01 * int(task[1])} for i, s in enumerate(("train", "dev", "test"))
        }
        data = {"task": task, "entity_type": "gene", "dataset": dataset, "splits": splits}
        paths.append(write(tmp_path / "stats" / task / "stats.json", json.dumps(data)))
    return paths


def _windows(tmp_path) -> dict:
    save_windows([window("alpha/B"), window("beta/B")], tmp_path / "train.pt", {})
    return {task: tmp_path / "train.pt" for task in TASKS}


def _expected(head, kind, task, value=strict):
    return mean(value(k) for k in SLIPS[(head, kind, task)].values())


# --------------------------------------------------------------------------- collect


def test_collect_gives_each_row_its_head_after_kind_and_linear_for_old_metrics(tmp_path):
    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "predicted": 2, "gold": 2}
    task = {"entity_type": "gene", "train_windows": 2, "train_windows_total": 2, "dev": {"entity": scores}, "test": {"entity": scores}}  # fmt: skip
    job = {"kind": "stl", "ablation": 0.0, "seed": 1, "best_epoch": 1, "epochs": 1, "train_seconds": 1.0, "tasks": {"t1": task}}  # fmt: skip
    old = write(tmp_path / "stl/metrics.json", json.dumps(job))
    crf = write(tmp_path / "crf/stl/metrics.json", json.dumps(job | {"head": "crf"}))
    frame = collect_metrics([old, crf])
    assert list(frame.columns[:3]) == ["kind", "head", "without"]
    assert frame.groupby("source")["head"].first().to_dict() == {str(old): "linear", str(crf): "crf"}


# --------------------------------------------------------------------------- names


def test_the_head_outputs_are_named_only_when_the_grid_has_a_crf_head():
    linear = table_names(paper=False, significance=True)
    assert table_names(paper=False, significance=True, heads=("linear",)) == linear
    assert table_names(paper=False, significance=True, heads=("linear", "crf")) == linear + [
        "heads",
        "heads_significance",
    ]
    assert table_names(paper=False, significance=False, heads=("linear", "crf"))[-1] == "heads"
    assert analysis.table_names() == list(analysis.TABLES)
    assert analysis.table_names(heads=("linear", "crf")) == [*analysis.TABLES, "heads_boundary_errors", "heads_seen_unseen"]  # fmt: skip
    assert analysis.figure_names(False, heads=("linear", "crf")) == analysis.figure_names(False) + ["fig_heads_strict_overlap"]  # fmt: skip


# --------------------------------------------------------------------------- tables from the results


def test_heads_table_holds_each_heads_seed_mean_and_crf_minus_linear(tmp_path):
    results, _ = grid(tmp_path)
    corpus = load_corpus_stats(corpus_stats(tmp_path))
    table = build_tables(results, corpus, names=["heads"])["heads"]
    assert list(table[["kind", "task"]].itertuples(index=False, name=None)) == [
        ("stl", "t1"), ("stl", "t2"), ("mtl", "t1"), ("mtl", "t2"),
    ]  # fmt: skip
    for row in table.itertuples():
        linear, crf = _expected("linear", row.kind, row.task), _expected("crf", row.kind, row.task)
        assert row.entity_linear == pytest.approx(linear) and row.entity_crf == pytest.approx(crf)
        assert row.entity_crf_minus_linear == pytest.approx(crf - linear)
        assert row.word_linear == pytest.approx(linear + WORD_BONUS)
        assert row.word_strict_crf == pytest.approx(crf + WORD_STRICT_BONUS)
        slips = [strict(k) for k in SLIPS[("crf", row.kind, row.task)].values()]
        assert row.entity_crf_sd == pytest.approx(stdev(slips))
        assert (row.seeds_linear, row.seeds_crf) == (2, 3)


def test_crf_rows_leave_the_papers_tables_as_they_were(tmp_path):
    every_head, _ = grid(tmp_path)
    linear, _ = grid(tmp_path, heads=("linear",))
    corpus = load_corpus_stats(corpus_stats(tmp_path))
    names = table_names(paper=False, significance=False)
    before = build_tables(linear.drop(columns="head"), corpus, names=names)
    after = build_tables(every_head, corpus, names=names)
    for name in names:
        assert after[name].to_csv() == before[name].to_csv(), name
    assert after["table2_stl"]["f1_test"].iloc[0] == pytest.approx(_expected("linear", "stl", "t1") + WORD_BONUS)


# --------------------------------------------------------------------------- significance


def _holm(pvalues: dict) -> dict:
    """Holm's step-down adjustment, written out for a family of any size."""
    order = sorted(pvalues, key=pvalues.get)
    adjusted, running = {}, 0.0
    for rank, key in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[key]))
        adjusted[key] = running
    return adjusted


def test_head_significance_pairs_the_seeds_both_heads_ran_and_corrects_per_kind(tmp_path):
    results, predictions = grid(tmp_path)
    table = head_significance(results, predictions, rounds=1000, seed=1)
    assert set(table["comparison"]) == {"crf_vs_linear"} and set(table["baseline"]) == {"linear"}
    assert len(table) == 4 and set(table["seeds"]) == {2}  # CRF's seed 3 has no linear partner
    for row in table.itertuples():
        shared = (1, 2)
        crf = mean(strict(SLIPS[("crf", row.kind, row.task)][s]) for s in shared)
        linear = mean(strict(SLIPS[("linear", row.kind, row.task)][s]) for s in shared)
        assert (row.f1_a, row.f1_b) == (pytest.approx(crf), pytest.approx(linear))
        assert row.delta == pytest.approx(crf - linear) and row.documents == DOCUMENTS
        assert row.note.startswith("UNRELIABLE")  # ten documents, fewer than 20
    for kind, family in table.groupby("kind"):
        expected = _holm(dict(zip(family["task"], family["p"])))
        assert dict(zip(family["task"], family["p_holm"])) == pytest.approx(expected), kind
    # the paper's comparisons keep their rows: CRF jobs are not among them
    assert significance(results, predictions).equals(significance(results[results["head"] == "linear"], predictions))


# --------------------------------------------------------------------------- the commands' files


def _csv(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _variants(tmp_path):
    """metrics.csv as it was before the head column, with it (all linear), and with CRF jobs."""
    every_head, predictions = grid(tmp_path)
    linear, linear_predictions = grid(tmp_path, heads=("linear",))
    return {
        "old": (_csv(tmp_path, "old.csv", linear.drop(columns="head")), linear_predictions),
        "linear": (_csv(tmp_path, "linear.csv", linear), linear_predictions),
        "crf": (_csv(tmp_path, "crf.csv", every_head), predictions),
    }


def _files(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_tables_write_the_head_comparisons_only_with_crf_rows_and_the_rest_unchanged(tmp_path):
    stats = corpus_stats(tmp_path)
    written = {}
    for variant, (csv, predictions) in _variants(tmp_path).items():
        write_all_tables(csv, stats, tmp_path / "out" / variant, predictions=predictions)
        written[variant] = _files(tmp_path / "out" / variant)
    assert written["linear"] == written["old"]
    assert not any(name.startswith("heads") for name in written["old"])
    extra = set(written["crf"]) - set(written["old"])
    assert extra == {f"{n}.{e}" for n in ("heads", "heads_significance") for e in ("csv", "md")}
    assert {name: written["crf"][name] for name in written["old"]} == written["old"]
    heads = pd.read_csv(tmp_path / "out" / "crf" / "heads.csv")
    assert heads["entity_crf_minus_linear"].iloc[0] == pytest.approx(
        _expected("crf", "stl", "t1") - _expected("linear", "stl", "t1")
    )
    assert (
        (tmp_path / "out" / "crf" / "heads.md").read_text().startswith("# Linear head (the paper's) against CRF head")
    )
    sig = pd.read_csv(tmp_path / "out" / "crf" / "heads_significance.csv", keep_default_na=False)
    assert list(sig["comparison"].unique()) == ["crf_vs_linear"] and sorted(sig["kind"]) == ["mtl", "mtl", "stl", "stl"]


def test_analysis_writes_head_comparisons_only_with_crf_jobs_and_the_rest_unchanged(tmp_path):
    stats, windows = corpus_stats(tmp_path), _windows(tmp_path)
    written = {}
    for variant, (csv, predictions) in _variants(tmp_path).items():
        tables, figures = tmp_path / "out" / variant / "tables", tmp_path / "out" / variant / "figures"
        write_analysis(csv, stats, predictions, windows, tables, figures)
        written[variant] = _files(tables) | _files(figures)
    assert written["linear"] == written["old"]
    extra = set(written["crf"]) - set(written["old"])
    assert extra == {f"{n}.{e}" for n in ("heads_boundary_errors", "heads_seen_unseen") for e in ("csv", "md")} | {
        "fig_heads_strict_overlap.png",
        "fig_heads_strict_overlap.svg",
    }
    assert {name: written["crf"][name] for name in written["old"]} == written["old"]

    boundary = pd.read_csv(tmp_path / "out" / "crf" / "tables" / "heads_boundary_errors.csv", keep_default_na=False)
    for row in boundary.itertuples():
        for head in ("linear", "crf"):
            slips = SLIPS[(head, row.kind, row.task)].values()
            assert getattr(row, f"f1_strict_{head}") == pytest.approx(mean(strict(k) for k in slips))
            assert getattr(row, f"f1_overlap_{head}") == pytest.approx(1.0)  # every slip still overlaps
            assert getattr(row, f"overlap_gap_{head}") == pytest.approx(mean(1 - strict(k) for k in slips))
            assert getattr(row, f"boundary_{head}") == pytest.approx(mean(slips))
        assert row.overlap_gap_crf_minus_linear == pytest.approx(row.overlap_gap_crf - row.overlap_gap_linear)
    seen = pd.read_csv(tmp_path / "out" / "crf" / "tables" / "heads_seen_unseen.csv")
    row = seen.iloc[0]
    assert (row["kind"], row["task"]) == ("stl", "t1")
    # gold "alpha gene" is unseen; a slip predicts the seen form "alpha", so unseen tp = predicted = 10 - k
    unseen = {head: _expected(head, "stl", "t1", lambda k: 2 * (10 - k) / (20 - k)) for head in ("linear", "crf")}
    assert row["f1_unseen_linear"] == pytest.approx(unseen["linear"])
    assert row["f1_unseen_crf_minus_linear"] == pytest.approx(unseen["crf"] - unseen["linear"])
    assert math.isnan(row["f1_seen_linear"]) is False and row["f1_seen_linear"] == 0.0  # seen predictions, no seen gold


def test_the_strict_overlap_figure_has_a_panel_per_kind_and_the_same_bytes_twice(tmp_path):
    results, predictions = grid(tmp_path)
    corpus = load_corpus_stats(corpus_stats(tmp_path))
    _, boundary = analysis.analyse(results, predictions, _windows(tmp_path))
    from mtlner.report.heads import heads_boundary_table

    table = heads_boundary_table(boundary, corpus)
    fig = plots.fig_heads_strict_overlap(table)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["STL, no data removed", "MTL, no data removed"]
    # per panel: two points per task and head (strict, overlap)
    points = [sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)) for ax in fig.axes]
    assert points == [2 * 2 * len(TASKS)] * 2
    for attempt in ("a", "b"):
        plots._save(plots.fig_heads_strict_overlap(table), tmp_path / attempt)
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
