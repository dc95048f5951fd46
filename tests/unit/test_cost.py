"""The cost report: hours by job kind from metrics.json files, and the grid projection."""

import json

import pandas as pd
import pytest

from mtlner.cli import main
from mtlner.report.cost import cost_table, grid_subwords, job_costs, projection, throughput
from tests.helpers.metrics import with_head


def _metrics(path, kind, tasks, ablation=0.0, train_s=10.0, eval_s=2.0, epochs=2, checkpoint_s=0.0, kept=1.0):
    data = {
        "kind": kind, "ablation": ablation, "seed": 1, "without": None, "device": "cpu",
        "train_seconds": epochs * (train_s + eval_s) + checkpoint_s, "checkpoint_seconds": checkpoint_s,
        "history": [{"train_seconds": train_s, "eval_seconds": eval_s} for _ in range(epochs)],
        "tasks": {t: {"train_windows": int(10 * kept), "train_windows_total": 10} for t in tasks},
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


STATS = {
    "a": {"train": {"subwords": 1000}, "dev": {"subwords": 200}},
    "b": {"train": {"subwords": 3000}, "dev": {"subwords": 400}},
}


def test_hours_and_shares_by_kind(tmp_path):
    files = [
        _metrics(tmp_path / "1.json", "stl", ["a"], train_s=10, eval_s=2),
        _metrics(tmp_path / "2.json", "stl", ["a"], ablation=0.5, kept=0.5, train_s=5, eval_s=2),
        _metrics(tmp_path / "3.json", "mtl", ["a", "b"], train_s=40, eval_s=6, checkpoint_s=4),
    ]
    jobs = job_costs(files, STATS)
    # STL at 0.0: 1000 subwords x 2 epochs in 20 s of training
    first = jobs.iloc[0]
    assert first["train_subwords"] == 2000 and first["train_seconds"] == 20 and first["dev_subwords"] == 400
    assert jobs.iloc[1]["train_subwords"] == 1000  # half the windows kept
    table = cost_table(jobs)
    mtl = table[table["kind"] == "mtl"].iloc[0]
    assert mtl["device_hours"] == pytest.approx((2 * 46 + 4) / 3600)
    assert mtl["checkpoint_share"] == pytest.approx(4 / 96) and mtl["train_share"] == pytest.approx(80 / 96)
    everything = table[table["kind"] == "all"].iloc[0]
    assert everything["jobs"] == 3 and everything["device_hours"] == pytest.approx(jobs["total_seconds"].sum() / 3600)
    rate = throughput(jobs)  # from the STL job with all data
    assert rate["train"] == pytest.approx(100.0) and rate["dev"] == pytest.approx(100.0)


def test_grid_counts_every_job_kind_of_the_design():
    tasks = {"a": {"entity": "x", "train": 100, "dev": 10}, "b": {"entity": "y", "train": 300, "dev": 30}}
    grid = grid_subwords(tasks, [0.0, 0.5])
    assert grid["stl_train"] == 400 * 1.5 and grid["mtl_train"] == 400 * 1.5
    assert grid["mtl_without_train"] == 300 + 100  # without x trains b, without y trains a
    assert grid["stl_from_mtl_dev"] == 40 * 2


def test_projection_labels_tasks_sized_from_the_papers_table(tmp_path):
    jobs = job_costs([_metrics(tmp_path / "1.json", "stl", ["a"])], STATS)
    stats = {"a": {**STATS["a"], "train_mentions": 100}}  # 10 subwords per mention
    paper = pd.DataFrame({"entity": ["species"], "dataset": ["S800"], "total_train": [50], "total_dev": [5]})
    grid = {
        "a": {"entity": "gene", "dataset": "A"},
        "species_s800": {"entity": "species", "dataset": "S800"},
        "nope": {"entity": "x"},
    }
    out = projection(jobs, stats, grid, paper, epochs=1, ablations=[0.0])
    rows = out.set_index("task")
    assert rows.loc["a", "source"] == "measured" and rows.loc["species_s800", "source"] == "estimated"
    assert rows.loc["species_s800", "train_subwords"] == 500
    # a task with no size (not run here, not in the paper's table) is not priced as a row of
    # its own, and the total row says so
    assert "nope" not in rows.index
    assert "1 not priced (nope): not run here, and not in the paper's Table 1" in rows.loc["all", "source"]
    # 1 epoch, one level: STL, MTL and STL-from-MTL each train 1500 subwords at 100/s; MTL
    # without gene trains 500, without species 1000; dev 250 subwords at 100/s per job kind
    total = rows.loc["all"]
    assert total["hours_stl"] == pytest.approx((1500 / 100 + 250 / 100) / 3600)
    assert total["hours_mtl_without"] == pytest.approx((1500 / 100 + 250 / 100) / 3600)


def test_cli_writes_both_tables(tmp_path):
    metrics = _metrics(tmp_path / "stl/a/metrics.json", "stl", ["a"])
    window = tmp_path / "windows/a/stats.json"
    window.parent.mkdir(parents=True)
    window.write_text(json.dumps(STATS["a"]))
    grid = tmp_path / "grid.yaml"
    grid.write_text("tasks: {a: {entity: gene}}\ntraining: {epochs: 3}\nablation_levels: [0.0, 0.5]\n")
    assert (
        main(
            [
                "cost",
                "--metrics",
                str(metrics),
                "--window-stats",
                str(window),
                "--grid-config",
                str(grid),
                "--out-dir",
                str(tmp_path / "t"),
            ]
        )
        == 0
    )
    assert (tmp_path / "t/cost.md").read_text().startswith("# Cost of this run")
    projected = pd.read_csv(tmp_path / "t/cost_projection.csv")
    assert projected.iloc[-1]["task"] == "all" and projected.iloc[-1]["hours_total"] > 0


def test_projection_with_nothing_to_price_says_why_instead_of_failing(tmp_path):
    # own corpora, paper_dir "": none of the grid's tasks ran here and no table sizes them
    jobs = job_costs([_metrics(tmp_path / "1.json", "stl", ["a"])], STATS)
    grid = {"cellline_cll": {"entity": "cell_line"}, "gene_bc2gm": {"entity": "gene"}}
    out = projection(jobs, STATS, grid, None, epochs=1, ablations=[0.0])
    assert list(out["task"]) == ["all"]
    row = out.iloc[0]
    assert row["source"] == "2 not priced (cellline_cll, gene_bc2gm): not run here, and no paper_dir to size it from"
    assert pd.isna(row["hours_total"]) and pd.isna(row["hours_stl"])
    # with the paper's table but no training mentions measured here, nothing scales its counts
    paper = pd.DataFrame({"entity": ["gene"], "dataset": ["GENE_BC2GM"], "total_train": [50], "total_dev": [5]})
    out = projection(jobs, STATS, grid, paper, epochs=1, ablations=[0.0])
    assert list(out["task"]) == ["all"] and "no training mentions measured here" in out.iloc[0]["source"]


def test_cli_without_paper_dir_writes_an_unpriced_projection(tmp_path):
    metrics = _metrics(tmp_path / "stl/a/metrics.json", "stl", ["a"])
    window = tmp_path / "windows/a/stats.json"
    window.parent.mkdir(parents=True)
    window.write_text(json.dumps(STATS["a"]))
    grid = tmp_path / "grid.yaml"
    grid.write_text("tasks: {other: {entity: gene}}\n")
    args = ["cost", "--metrics", str(metrics), "--window-stats", str(window), "--grid-config", str(grid)]
    assert main([*args, "--out-dir", str(tmp_path / "t")]) == 0
    projected = pd.read_csv(tmp_path / "t/cost_projection.csv")
    assert list(projected["task"]) == ["all"] and "not priced (other)" in projected.iloc[0]["source"]
    assert "not priced (other)" in (tmp_path / "t/cost_projection.md").read_text()


def test_cli_names_a_paper_dir_without_table1(tmp_path, capsys):
    metrics = _metrics(tmp_path / "stl/a/metrics.json", "stl", ["a"])
    window = tmp_path / "windows/a/stats.json"
    window.parent.mkdir(parents=True)
    window.write_text(json.dumps(STATS["a"]))
    grid = tmp_path / "grid.yaml"
    grid.write_text("tasks: {a: {entity: gene}}\n")
    args = ["cost", "--metrics", str(metrics), "--window-stats", str(window), "--grid-config", str(grid)]
    assert main([*args, "--paper-dir", str(tmp_path / "empty"), "--out-dir", str(tmp_path / "t")]) != 0
    assert str(tmp_path / "empty" / "table1_mentions.csv") in capsys.readouterr().err


def test_cost_gives_crf_jobs_kinds_of_their_own_and_prices_the_grid_from_linear_stl(tmp_path):
    linear = _metrics(tmp_path / "1.json", "stl", ["a"], train_s=10, eval_s=2)
    crf = with_head(_metrics(tmp_path / "2" / "m.json", "stl", ["a"], train_s=30, eval_s=2), "crf")
    jobs = job_costs([linear, crf], STATS)
    table = cost_table(jobs).set_index("kind")
    assert list(table.index) == ["stl", "stl_crf", "all"]
    assert table.loc["stl", "device_hours"] == pytest.approx(2 * 12 / 3600)
    assert table.loc["all", "device_hours"] == pytest.approx(2 * (12 + 32) / 3600)
    assert throughput(jobs) == throughput(job_costs([linear], STATS))  # 1000 subwords a 10 s epoch
