"""heads: [linear, crf] through the whole workflow (issue 21): every model kind trained with both
heads, every table and figure built, the CRF comparison tables filled, the linear jobs unchanged."""

import csv
import json

import pytest

from tests.helpers.workflow import job_counts, snakemake, tiny_config

pytestmark = pytest.mark.slow


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_tiny_run_with_both_heads_builds_every_table_and_figure(tmp_path):
    # a finished linear-only run first: adding crf to heads must train the CRF jobs alone
    snakemake(tmp_path, config=tiny_config(tmp_path, ablation_levels=[0.0]))
    config = tiny_config(tmp_path, heads=["linear", "crf"], ablation_levels=[0.0])
    planned = job_counts(snakemake(tmp_path, "-n", config=config, quiet=False).stdout)
    trained = {rule for rule in planned if rule.startswith("train_")}
    assert trained == {f"train_{r}_crf" for r in ("stl", "mtl_saved", "mtl_without", "stl_from_mtl")}, planned
    assert planned["train_stl_crf"] == 2 and planned["train_stl_from_mtl_crf"] == 2
    snakemake(tmp_path, config=config)
    results = tmp_path / "results"

    crf_jobs = sorted((results / "crf").rglob("metrics.json"))
    assert {p.relative_to(results / "crf").parts[0] for p in crf_jobs} == {"stl", "mtl", "stl_from_mtl"}
    for path in crf_jobs:
        data = json.loads(path.read_text())
        assert data["head"] == "crf" and data["config"]["head"] == "crf"
    linear = json.loads((results / "stl/gene_demo_a/ablation_0.0/seed_1/metrics.json").read_text())
    assert linear["head"] == "linear"
    # the saved CRF models: the MTL model and the encoder STL-from-MTL starts from
    for model in ("mtl/all/ablation_0.0/seed_1/model", "mtl/without_gene/seed_1/model"):
        meta = json.loads((results / "crf" / model / "model.json").read_text())
        assert meta["head"] == "crf" and (results / "crf" / model / "crf.pt").is_file()
    stl_from_mtl = json.loads(
        (results / "crf/stl_from_mtl/without_gene/gene_demo_a/ablation_0.0/seed_1/metrics.json").read_text()
    )
    assert stl_from_mtl["init"] == "results/crf/mtl/without_gene/seed_1/model"  # the CRF MTL encoder

    tables = results / "tables"
    for name in ("heads", "heads_significance", "heads_boundary_errors", "heads_seen_unseen"):
        rows = _rows(tables / f"{name}.csv")
        assert rows, f"{name} has no rows"
        assert (tables / f"{name}.md").read_text().startswith("# ")
    heads = _rows(tables / "heads.csv")
    assert {r["kind"] for r in heads} == {"stl", "mtl", "stl_from_mtl"}
    for r in heads:
        for metric in ("word", "entity"):
            delta = float(r[f"{metric}_crf"]) - float(r[f"{metric}_linear"])
            assert float(r[f"{metric}_crf_minus_linear"]) == pytest.approx(delta)
    assert {r["comparison"] for r in _rows(tables / "heads_significance.csv")} == {"crf_vs_linear"}
    figure = results / "figures" / "fig_heads_strict_overlap"
    assert figure.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    # the paper's tables read the linear jobs only; the cost table files CRF jobs apart
    assert len(_rows(tables / "table2_stl.csv")) == 2
    assert {"stl", "stl_crf", "mtl", "mtl_crf"} <= {r["kind"] for r in _rows(tables / "cost.csv")}
    # everything is up to date: nothing reruns
    assert "Nothing to be done" in snakemake(tmp_path, "-n", config=config, quiet=False).stdout
