"""One tiny finished workflow (2 demo tasks, ablation 0 and 0.5, 1 epoch, no entity ablation),
then: the HTML report embeds every table and figure, the tables carry bootstrap p-values,
and the storage table compares STL with MTL."""

import base64
import re
import subprocess
import sys

import pandas as pd
import pytest

from mtlner.report.plots import figure_names
from mtlner.report.tables import table_names

from tests.helpers import ROOT
from tests.helpers.workflow import snakemake, tiny_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    config = tiny_config(workdir, entity_ablation=False)
    snakemake(workdir, config=config)
    return workdir, config


@pytest.fixture(scope="module")
def report_html(finished):
    workdir, config = finished
    snakemake(workdir, "--report", str(workdir / "report.html"), config=config)
    return (workdir / "report.html").read_text(encoding="utf-8")


def _embedded(html: str) -> set[bytes]:
    """Every file the report carries inline (data: URIs), decoded."""
    found = re.findall(r"data:[\w/+.-]+;(?:[\w-]+=[^;,\"]*;)*base64,([A-Za-z0-9+/=]+)", html)
    return {base64.b64decode(data) for data in found}


def expected_tables():
    return table_names(entity_ablation=False, paper=True) + ["storage", "cross_corpus"]  # cross_corpus: empty here


def test_report_is_one_page_embedding_every_table_and_figure(finished, report_html):
    workdir, _ = finished
    embedded = _embedded(report_html)
    files = [workdir / "results" / "tables" / f"{name}.csv" for name in expected_tables()]
    files += [workdir / "results" / "figures" / f"{name}.png" for name in figure_names(entity_ablation=False)]
    missing = [str(f.relative_to(workdir)) for f in files if f.read_bytes() not in embedded]
    assert not missing, f"not in the report: {missing}"
    assert "Significance: paired bootstrap over test documents" in report_html  # a caption
    assert not re.search(r"<(?:img|script|link)[^>]+(?:src|href)=\"(?:https?:)?//", report_html)  # nothing fetched


def test_tables_carry_bootstrap_p_values(finished):
    tables = finished[0] / "results" / "tables"
    for name in ("table3_mtl", "table7_entity_level"):
        frame = pd.read_csv(tables / f"{name}.csv")
        assert set(frame["task"]) == {"gene_demo_a", "species_demo"}
        assert frame["p_vs_stl"].between(0, 1).all() and (frame["p_vs_stl_holm"] >= frame["p_vs_stl"]).all()
        assert "p_vs_stl" in (tables / f"{name}.md").read_text()
    sig = pd.read_csv(tables / "significance.csv", keep_default_na=False)
    kinds = set(zip(sig["comparison"], sig["kind"]))
    assert kinds == {("mtl_vs_stl", "mtl"), ("ablation_vs_0", "stl"), ("ablation_vs_0", "mtl")}
    assert (sig[sig["comparison"] == "ablation_vs_0"]["ablation"] == 0.5).all()
    assert (sig["documents"] == 10).all() and (sig["seeds"] == 1).all()


def test_storage_table_compares_stl_per_task_with_one_mtl_model(finished):
    frame = pd.read_csv(finished[0] / "results" / "tables" / "storage.csv").set_index("setup")
    one, stl, mtl = (
        frame.loc["STL, one task"],
        frame.loc["STL, one model per task"],
        frame.loc["MTL, one encoder + all heads"],
    )
    head = 384 * 4 + 4  # one linear head of MiniLM: hidden x 4 labels + bias
    assert mtl["parameters"] == one["parameters"] + head
    assert stl["parameters"] == 2 * one["parameters"]
    assert stl["disk_mb"] > 1.9 * mtl["disk_mb"] and 80 < mtl["disk_mb"] < 100
    assert mtl["inference_peak_mb"] > 0 and "STL folders not saved" in one["measured_from"]


def test_tag_cli_runs_on_the_workflows_model(finished, tmp_path):
    model = finished[0] / "results" / "mtl" / "all" / "ablation_0.0" / "seed_1" / "model"
    text = tmp_path / "a.txt"
    text.write_text("Mutations in BRCA1 were found in Homo sapiens.\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mtlner.cli", "tag", "--model", str(model), str(text), "-o", str(tmp_path / "out.jsonl")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 1
