"""Table 1 from conversion reports, compared with the paper's numbers."""

import os
from pathlib import Path

import pytest

from mtlner.huner.build import build_task
from mtlner.huner.registry import load_registry
from mtlner.huner.table1 import compare_with_paper, read_paper_table, table1_row

REPO = Path(__file__).resolve().parents[2]
PAPER = next((path for path in [REPO / "resources" / "paper" / "table1_mentions.csv", REPO / "shared" / "paper" / "table1_mentions.csv",
                                REPO.parent / "shared" / "paper" / "table1_mentions.csv"] if path.exists()), None)
needs_paper = pytest.mark.skipif(PAPER is None, reason="shared/paper/table1_mentions.csv not available")


def test_fixture_counts_become_a_table_row(fixtures, tmp_path):
    report = build_task("cellline_cll", load_registry(), fixtures / "cll", fixtures / "splits", tmp_path)
    row = table1_row("cellline_cll", "cell_line", report)
    assert row == {"entity": "cell_line", "dataset": "CLL", "total_train": 3, "total_dev": 0, "total_test": 0,
                   "unique_train": 3, "unique_dev": 0, "unique_test": 0}


@needs_paper
def test_comparison_names_each_difference():
    paper = read_paper_table(PAPER)
    exact = dict(paper[("cell_line", "CLL")], entity="cell_line", dataset="CLL")
    assert compare_with_paper([exact], paper) == []
    off = dict(exact, total_train=233)
    assert compare_with_paper([off], paper) == ["cell_line/CLL total_train: ours 233, paper 234"]
    empty = {"mentions": {split: {"total": 0, "unique": 0} for split in ("train", "dev", "test")}}
    assert table1_row("species_linnaeus", "species", empty)["dataset"] == "LINNEAUS"  # the paper's spelling
    assert ("species", "LINNEAUS") in paper


# Real raw corpora (not in the repository): MTLNER_HUNER_RAW=<dir> with <dir>/<corpus>/ holding the
# unpacked release (as resources/huner/downloads/<corpus>/data) and <dir>/splits/ HUNER's split files.
# Checked by hand on 2026-11-24: CLL and VARIOME species match the paper exactly.
EXACT_ON_REAL_DATA = ["cellline_cll", "species_variome"]


@needs_paper
@pytest.mark.corpora
@pytest.mark.parametrize("task", EXACT_ON_REAL_DATA)
def test_real_corpus_matches_paper_table1(task, tmp_path):
    raw = os.environ.get("MTLNER_HUNER_RAW")
    registry = load_registry()
    spec = registry["tasks"][task]
    if not raw or not (Path(raw) / spec["corpus"]).is_dir():
        pytest.skip("set MTLNER_HUNER_RAW to a folder with the real corpus")
    report = build_task(task, registry, Path(raw) / spec["corpus"], Path(raw) / "splits", tmp_path)
    row = table1_row(task, spec["entity"], report)
    assert compare_with_paper([row], read_paper_table(PAPER)) == []
