"""Bootstrap p-values in the tables (built from a hand-made significance frame)."""

import pandas as pd
import pytest

from mtlner.report.io import to_markdown
from mtlner.report.tables import build_tables, table_names

CORPUS = pd.DataFrame({"task": ["t1", "t2"], "entity": ["gene", "gene"], "dataset": ["D1", "D2"]})


def _results():
    rows = []
    for kind in ("stl", "mtl"):
        for task, f1 in (("t1", 0.5), ("t2", 0.7)):
            for seed in (1, 2):
                for split in ("dev", "test"):
                    for level in ("word", "entity"):
                        rows.append({"kind": kind, "without": "", "task": task, "entity_type": "gene", "ablation": 0.0, "seed": seed,
                                     "best_epoch": 1, "split": split, "level": level, "precision": f1, "recall": f1,
                                     "f1": f1 + (0.1 if kind == "mtl" else 0) + 0.01 * seed})  # fmt: skip
    return pd.DataFrame(rows)


SIG = pd.DataFrame({
    "comparison": ["mtl_vs_stl", "mtl_vs_stl", "mtl_vs_stl"], "kind": ["mtl"] * 3, "without": [""] * 3,
    "task": ["t1", "t2", "t1"], "ablation": [0.0, 0.0, 0.5], "baseline": ["stl"] * 3,
    "f1_a": [0.6, 0.8, 0.1], "f1_b": [0.5, 0.7, 0.1], "delta": [0.1, 0.1, 0.0], "ci_low": [0.05, -0.1, 0], "ci_high": [0.2, 0.3, 0],
    "p": [0.01, 0.3, 1.0], "p_holm": [0.02, 0.3, 1.0], "documents": [10] * 3, "seeds": [2] * 3,
})  # fmt: skip


def test_table3_and_table7_carry_p_at_ablation_zero_with_sd_over_seeds():
    tables = build_tables(
        _results(), CORPUS, names=["table3_mtl", "table7_entity_level", "significance"], significance=SIG
    )
    t3 = tables["table3_mtl"].set_index("task")
    assert (
        t3.loc["t1", "p_vs_stl"] == 0.01 and t3.loc["t1", "p_vs_stl_holm"] == 0.02 and t3.loc["t2", "p_vs_stl"] == 0.3
    )
    assert t3.loc["t1", "f1_test_sd"] == pytest.approx(0.00707, abs=1e-4)
    t7 = tables["table7_entity_level"].set_index("task")
    assert t7.loc["t2", "p_vs_stl_holm"] == 0.3
    md = to_markdown(tables["table3_mtl"])
    assert "| p_vs_stl | p_vs_stl_holm |" in md and "± 0.007" in md
    sig = tables["significance"]
    assert list(sig.columns[:8]) == [
        "comparison",
        "kind",
        "without",
        "ablation",
        "baseline",
        "entity",
        "dataset",
        "task",
    ]
    assert len(sig) == 3


def test_without_predictions_there_are_no_p_columns_and_no_significance_table():
    assert "significance" not in table_names(significance=False)
    assert "p_vs_stl" not in build_tables(_results(), CORPUS, names=["table3_mtl"])["table3_mtl"]
    assert table_names(entity_ablation=False, paper=False, significance=False)[-1] == "correlations"
