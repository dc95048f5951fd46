"""The reference page: our rows beside the paper's, claims computed the same way on both sides."""

import pandas as pd
import pytest

from mtlner.report.reference import ablation_curve, build_page, fine_tune_vs_stl, mtl_vs_stl, write_reference

from tests.helpers import ROOT

PAPER = ROOT / "resources" / "paper"


def _write_tables(folder):
    folder.mkdir(parents=True)
    base = {"entity": ["cell_line", "chemical"], "dataset": ["CLL", "CDR"], "task": ["cellline_cll", "chemical_cdr"]}
    pd.DataFrame(
        base
        | {
            "total_train": [234, 9100],
            "total_dev": [30, 1500],
            "total_test": [77, 4700],
            "unique_train": [195, 2400],
            "unique_dev": [26, 560],
            "unique_test": [67, 1500],
        }
    ).to_csv(folder / "table1_corpus.csv", index=False)
    pd.DataFrame(
        base | {"f1_test": [0.70, 0.90], "p_test": [0.7, 0.9], "r_test": [0.7, 0.9], "f1_dev": [0.7, 0.9]}
    ).to_csv(folder / "table2_stl.csv", index=False)
    pd.DataFrame(
        base | {"f1_test": [0.60, 0.95], "p_test": [0.6, 0.95], "r_test": [0.6, 0.95], "f1_dev": [0.6, 0.9]}
    ).to_csv(folder / "table3_mtl.csv", index=False)
    levels = {"a0.00": [0.7, 0.9], "a0.25": [0.6, 0.9], "a0.50": [0.5, 0.85], "a0.75": [0.4, 0.8], "a0.90": [0.2, 0.7]}
    pd.DataFrame(base | levels).to_csv(folder / "table4_stl_data_ablation.csv", index=False)
    pd.DataFrame(base | levels).to_csv(folder / "table5_mtl_data_ablation.csv", index=False)
    pd.DataFrame(base | levels | {"stl": [0.6, 0.95], "mtl": [0.6, 0.95]}).to_csv(
        folder / "table6_entity_ablation.csv", index=False
    )
    pd.DataFrame(base | {"f1_mtl": [0.5, 0.9], "f1_stl": [0.6, 0.9]}).to_csv(
        folder / "table7_entity_level.csv", index=False
    )
    pd.DataFrame(
        {
            "comparison": ["mtl_vs_stl"] * 2,
            "kind": ["mtl"] * 2,
            "task": base["task"],
            "ablation": [0.0, 0.0],
            "delta": [-0.1, 0.05],
            "p": [0.001, 0.2],
            "p_holm": [0.002, 0.2],
        }
    ).to_csv(folder / "significance.csv", index=False)


def test_claims_are_counted_from_the_tables():
    stl = pd.DataFrame({"entity": ["a", "b", "c"], "dataset": ["A", "B", "C"], "f1_test": [0.5, 0.8, 0.9]})
    mtl = pd.DataFrame({"entity": ["a", "b", "c"], "dataset": ["A", "B", "C"], "f1_test": [0.6, 0.7, 0.9]})
    assert mtl_vs_stl(stl, mtl) == {"tasks": 3, "mtl_higher": 1, "mean_delta": pytest.approx((0.1 - 0.1 + 0) / 3)}
    curve = ablation_curve(pd.DataFrame({"a0.00": [0.8, 0.6], "a0.90": [0.4, 0.4]}))
    assert curve["drop"] == pytest.approx(0.3)
    ft = fine_tune_vs_stl(pd.DataFrame({"a0.00": [0.7, 0.5], "stl": [0.6, 0.6]}))
    assert ft["tasks"] == 2 and ft["fine_tune_higher"] == 1


def test_page_puts_our_rows_beside_the_papers_for_the_same_tasks(tmp_path):
    tables = tmp_path / "results" / "tables"
    _write_tables(tables)
    page = build_page(tables, PAPER, "Reference run")
    # the paper's CLL STL test F1 is 0.885 (Table 2), its MTL 0.795 (Table 3)
    assert "| cell_line | CLL | 0.700 | 0.885 |" in page
    assert "| cell_line | CLL | 0.600 | 0.795 |" in page
    # ours: MTL higher on CDR only; the paper, on CLL and CDR: higher on CDR only (0.947 > 0.934)
    assert "here MTL is higher on 1 of 2 tasks" in page and "in the paper, on the same tasks, on 1 of 2" in page
    assert "significantly worse on 1 (cellline_cll)" in page
    assert "## Table 6." in page and "## Table 7." in page

    (tmp_path / "results" / "figures").mkdir()
    (tmp_path / "results" / "figures" / "fig4.png").write_bytes(b"\x89PNG")
    (tables / "table2_stl.md").write_text("# Table 2\n")
    out = write_reference(tmp_path / "results", PAPER, tmp_path / "docs", "Reference run", notes="Ran on a CPU.")
    text = out.read_text()
    assert text.startswith("# Reference run\n\nRan on a CPU.") and "![fig4](figures/fig4.png)" in text
    assert (tmp_path / "docs" / "tables" / "table2_stl.md").is_file() and (
        tmp_path / "docs" / "figures" / "fig4.png"
    ).is_file()


def test_missing_tables_are_a_clear_error(tmp_path):
    from mtlner.errors import UserError

    with pytest.raises(UserError, match="table1_corpus.csv is missing"):
        build_page(tmp_path, PAPER, "x")


def test_the_crf_section_counts_wins_gaps_and_mtl_vs_stl_from_the_head_tables(tmp_path):
    from mtlner.report.reference import crf_heads_section

    assert crf_heads_section(tmp_path) == []  # a linear-only run has no heads table and no section
    rows = [  # kind, without, task, entity_linear, entity_crf
        ("stl", "", "a", 0.50, 0.60),
        ("stl", "", "b", 0.70, 0.65),
        ("mtl", "", "a", 0.55, 0.58),
        ("mtl", "", "b", 0.60, 0.70),
        ("mtl", "gene", "a", 0.10, 0.90),  # MTL without a type: not the MTL of the comparison
    ]
    heads = pd.DataFrame(
        [
            {"kind": k, "without": w, "ablation": 0.0, "entity": "gene", "dataset": t.upper(), "task": t,
             "entity_linear": lin, "entity_crf": crf, "entity_crf_minus_linear": crf - lin}
            for k, w, t, lin, crf in rows
        ]
    )  # fmt: skip
    heads.to_csv(tmp_path / "heads.csv", index=False)
    boundary = heads[["kind", "without", "ablation", "task"]].assign(
        overlap_gap_linear=[0.2, 0.1, 0.3, 0.1, 0.0], overlap_gap_crf=[0.1, 0.1, 0.1, 0.05, 0.0]
    )
    boundary.to_csv(tmp_path / "heads_boundary_errors.csv", index=False)
    pd.DataFrame(
        [
            {"kind": "stl", "ablation": 0.0, "task": "a", "delta": 0.1, "p_holm": 0.01},
            {"kind": "stl", "ablation": 0.0, "task": "b", "delta": -0.05, "p_holm": 0.30},
            {"kind": "mtl", "ablation": 0.0, "task": "b", "delta": 0.1, "p_holm": 0.02},
        ]
    ).to_csv(tmp_path / "heads_significance.csv", index=False)
    text = "\n".join(crf_heads_section(tmp_path))
    assert "**STL** (2 tasks): linear 0.600, CRF 0.625 (+0.025); the CRF is higher on 1 of 2" in text
    assert "significantly better on 1 and worse on 0" in text
    assert "linear 0.150, CRF 0.100." in text  # STL's mean overlap gap
    assert "**MTL** (2 tasks): linear 0.575, CRF 0.640" in text  # without the MTL-without-gene row
    # MTL > STL: linear on a (0.55 > 0.50) only; CRF on b (0.70 > 0.65) only
    assert "MTL is higher on 1 of 2 tasks with linear heads and on 1 of 2 with CRF heads" in text
