"""Table 1 from conversion reports, compared with the paper's numbers."""

from pathlib import Path

from mtlner.data.huner.build import build_task
from mtlner.data.huner.registry import load_registry
from mtlner.data.huner.table1 import compare_with_paper, read_paper_table, table1_row

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "resources" / "paper" / "table1_mentions.csv"  # committed: missing, the tests fail


def test_fixture_counts_become_a_table_row(fixtures, tmp_path):
    report = build_task("cellline_cll", load_registry(), fixtures / "cll", fixtures / "splits", tmp_path)
    row = table1_row("cellline_cll", "cell_line", report)
    assert row == {
        "entity": "cell_line",
        "dataset": "CLL",
        "total_train": 3,
        "total_dev": 0,
        "total_test": 0,
        "unique_train": 3,
        "unique_dev": 0,
        "unique_test": 0,
    }


def test_comparison_names_each_difference():
    paper = read_paper_table(PAPER)
    exact = dict(paper[("cell_line", "CLL")], entity="cell_line", dataset="CLL")
    assert compare_with_paper([exact], paper) == []
    off = dict(exact, total_train=233)
    assert compare_with_paper([off], paper) == ["cell_line/CLL total_train: ours 233, paper 234"]
    empty = {"mentions": {split: {"total": 0, "unique": 0} for split in ("train", "dev", "test")}}
    assert table1_row("species_linnaeus", "species", empty)["dataset"] == "LINNEAUS"  # the paper's spelling
    assert ("species", "LINNEAUS") in paper


# The real-file check against the paper's numbers is tests/huner/test_real_mirror.py.
