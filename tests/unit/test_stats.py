"""Paired bootstrap over documents, Holm's correction, and the significance table."""

import logging
import math

import numpy as np
import pandas as pd
import pytest

from mtlner.report.bootstrap import significance
from mtlner.errors import UserError
from mtlner.report.stats import document_counts, f1_from_counts, holm, paired_bootstrap, read_predictions

from tests.helpers import write


def test_holm_on_a_hand_computed_vector():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_leaves_nan_out_of_the_family():
    adjusted = holm([0.5, math.nan, 0.2])
    assert adjusted[0] == pytest.approx(0.5) and adjusted[2] == pytest.approx(0.4)
    assert math.isnan(adjusted[1])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_f1_is_pooled_over_documents_not_averaged():
    docs = np.array([[1, 1, 1], [0, 0, 10]])
    assert f1_from_counts(docs.sum(axis=0)) == pytest.approx(2 / 12)
    assert f1_from_counts(np.array([0, 0, 0])) == 0.0


def _docs(n, tp, predicted, gold):
    return np.tile([tp, predicted, gold], (n, 1))


def test_identical_systems_give_p_one():
    rng = np.random.default_rng(0)
    gold = rng.integers(1, 10, 40)
    tp = rng.integers(0, 1, 40) * gold
    a = np.stack([tp, gold, gold], axis=1)
    result = paired_bootstrap(a, a.copy(), rounds=1000, seed=3)
    assert result["delta"] == 0 and result["p"] == 1.0


def test_a_clearly_better_system_gives_a_small_p():
    better, worse = _docs(30, 5, 5, 5), _docs(30, 1, 5, 5)
    result = paired_bootstrap(better, worse, rounds=1000, seed=1)
    assert result["delta"] == pytest.approx(1.0 - 0.2)
    assert result["p"] == pytest.approx(1 / 1001)
    assert result["ci_low"] > 0


def test_a_small_noisy_difference_is_not_significant_and_the_test_is_seeded():
    rng = np.random.default_rng(1)
    gold = rng.integers(2, 6, 20)
    tp_a = np.minimum(gold, rng.integers(0, 6, 20))
    tp_b = tp_a.copy()
    tp_b[0] = max(0, tp_b[0] - 1)  # one entity fewer in one document
    a, b = np.stack([tp_a, gold, gold], 1), np.stack([tp_b, gold, gold], 1)
    first = paired_bootstrap(a, b, rounds=2000, seed=7)
    assert first["delta"] > 0 and first["p"] > 0.05
    assert paired_bootstrap(a, b, rounds=2000, seed=7) == first


def test_several_seeds_test_the_difference_of_seed_means():
    a = np.stack([_docs(10, 4, 4, 4), _docs(10, 2, 4, 4)])  # F1 1.0 and 0.5 -> mean 0.75
    b = np.stack([_docs(10, 2, 4, 4), _docs(10, 2, 4, 4)])  # mean 0.5
    result = paired_bootstrap(a, b, rounds=1000)
    assert result["f1_a"] == pytest.approx(0.75) and result["delta"] == pytest.approx(0.25)
    assert result["seeds"] == 2 and result["documents"] == 10
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:1])


PRED = """-DOCSTART-\t0\tO\tO

IL-2\tB\tB
gene\tI\tO
.\tO\tO

-DOCSTART-\t1\tO\tO

p53\tB\tB
binds\tO\tB
"""


def test_read_predictions_splits_documents_and_sentences(tmp_path):
    path = write(tmp_path / "p.tsv", PRED)
    docs = read_predictions(path)
    assert docs == [([["B", "I", "O"]], [["B", "O", "O"]]), ([["B", "O"]], [["B", "B"]])]
    counts, gold = document_counts(path)
    assert counts.tolist() == [[0, 1, 1], [1, 2, 1]]  # (tp, predicted, gold) per document
    assert gold == [("B/I/O",), ("B/O",)]


def test_read_predictions_names_a_bad_line(tmp_path):
    with pytest.raises(UserError, match=r"p.tsv:2"):
        read_predictions(write(tmp_path / "p.tsv", "-DOCSTART-\t0\tO\tO\nIL-2 B\n"))


def _job(tmp_path, kind, task, ablation, seed, tags, without=""):
    job = tmp_path / kind / (without or "all") / task / f"a{ablation}" / f"s{seed}"
    lines = []
    for doc, (gold, pred) in enumerate(tags):
        lines += [f"-DOCSTART-\t{doc}\tO\tO", ""] + [f"w\t{g}\t{p}" for g, p in zip(gold, pred)] + [""]
    write(job / "predictions" / f"{task}.test.tsv", "\n".join(lines))
    row = {
        "kind": kind,
        "without": without,
        "task": task,
        "ablation": ablation,
        "seed": seed,
        "split": "test",
        "level": "entity",
        "source": str(job / "metrics.json"),
    }
    return row, job / "predictions" / f"{task}.test.tsv"


def test_significance_compares_mtl_with_stl_and_levels_with_zero(tmp_path):
    perfect = [("BIO", "BIO")] * 12
    poor = [("BIO", "OOO")] * 12
    jobs = [
        _job(tmp_path, "stl", "t1", 0.0, 1, poor),
        _job(tmp_path, "mtl", "t1", 0.0, 1, perfect),
        _job(tmp_path, "stl", "t1", 0.5, 1, poor),
        _job(tmp_path, "stl", "t2", 0.0, 1, perfect),
        _job(tmp_path, "mtl", "t2", 0.0, 1, perfect),
    ]
    results = pd.DataFrame([row for row, _ in jobs])
    table = significance(results, [path for _, path in jobs], rounds=1000)
    mtl = table[table["comparison"] == "mtl_vs_stl"].set_index("task")
    assert mtl.loc["t1", "delta"] == pytest.approx(1.0) and mtl.loc["t1", "p"] < 0.01
    assert mtl.loc["t2", "p"] == 1.0
    # Holm over the two tasks: the smaller p doubles, the other stays (capped at 1)
    assert mtl.loc["t1", "p_holm"] == pytest.approx(2 * mtl.loc["t1", "p"])
    ablation = table[table["comparison"] == "ablation_vs_0"]
    assert ablation[["kind", "task", "ablation", "p"]].values.tolist() == [["stl", "t1", 0.5, 1.0]]


def test_significance_refuses_missing_predictions_and_different_test_sets(tmp_path):
    a = _job(tmp_path, "stl", "t1", 0.0, 1, [("BIO", "BIO")] * 3)
    b = _job(tmp_path, "mtl", "t1", 0.0, 1, [("BOO", "BOO")] * 3)
    results = pd.DataFrame([a[0], b[0]])
    with pytest.raises(UserError, match="no predictions given for task t1"):
        significance(results, [a[1]])
    with pytest.raises(UserError, match="different test sets"):
        significance(results, [a[1], b[1]])


def test_significance_marks_comparisons_on_too_few_test_documents(tmp_path, caplog):
    from mtlner.report.bootstrap import MIN_DOCUMENTS
    from mtlner.report.io import to_markdown
    from mtlner.report.tables import build_tables

    many, one = MIN_DOCUMENTS, 1  # t1: enough documents; t2: a corpus without -DOCSTART- (one document)
    jobs = [
        _job(tmp_path, "stl", "t1", 0.0, 1, [("BIO", "OOO")] * many),
        _job(tmp_path, "mtl", "t1", 0.0, 1, [("BIO", "BIO")] * many),
        _job(tmp_path, "stl", "t2", 0.0, 1, [("BIOBIOBIO", "OOOBIOOOO")] * one),
        _job(tmp_path, "mtl", "t2", 0.0, 1, [("BIOBIOBIO", "BIOBIOBIO")] * one),
    ]
    with caplog.at_level(logging.WARNING):
        table = significance(pd.DataFrame([row for row, _ in jobs]), [path for _, path in jobs], rounds=1000)
    notes = table.set_index("task")["note"]
    assert notes["t1"] == ""
    assert notes["t2"].startswith("UNRELIABLE: 1 test document (< 20)") and "documents key" in notes["t2"]
    assert "task t2 has 1 test document(s)" in caplog.text and "task t1" not in caplog.text
    # the note reaches the significance table itself (CSV and Markdown)
    corpus = pd.DataFrame({"task": ["t1", "t2"], "entity": ["gene", "gene"], "dataset": ["D1", "D2"]})
    sig = build_tables(pd.DataFrame(), corpus, names=["significance"], significance=table)["significance"]
    assert sig.columns[-1] == "note" and "UNRELIABLE" in to_markdown(sig)


def test_prediction_files_keep_tokens_with_line_separator_characters(tmp_path):
    """mtlner.data.corpus keeps NEL, U+2028 and form feeds inside a token; the readers of the
    predictions written from it must not end a line there."""
    from mtlner.report.analysis import read_tagged
    from mtlner.training.loop import write_predictions

    path = tmp_path / "p.tsv"
    words = ["IL\x852", "a\u2028b", "c\x0cd"]
    write_predictions(path, [("d1", words, ["B", "O", "B"])], [("d1", words, ["B", "O", "O"])])
    assert read_tagged(path) == [(words, ["B", "O", "B"], ["B", "O", "O"])]
    assert read_predictions(path) == [([["B", "O", "B"]], [["B", "O", "O"]])]
