"""Seen vs unseen mentions and boundary errors (mtlner.report.analysis) on hand-made cases."""

import json
import math

import pandas as pd
import pytest

from mtlner.report.analysis import (
    analyse,
    boundary_counts,
    read_tagged,
    seen_unseen_counts,
    summarise,
    training_forms,
    write_analysis,
)
from mtlner.errors import UserError
from mtlner.data.windows import ablate, save_windows

from tests.helpers.windows import window


def tagged(*sentences: str):
    """'tok/GOLD/PRED ...' sentences -> read_tagged's (tokens, gold, predicted) triples."""
    out = []
    for sentence in sentences:
        triples = [t.split("/") for t in sentence.split()]
        out.append(tuple([t[i] for t in triples] for i in range(3)))
    return out


def test_training_forms_are_case_folded_mentions_of_each_sentence():
    w = window("The/O IL-2/B receptor/I binds/O", "Ras/B ./O")
    assert training_forms([w]) == {"il-2 receptor", "ras"}


def test_a_mention_seen_once_in_training_is_seen_and_a_new_one_unseen():
    forms = training_forms([window("the/O P53/B gene/O")])
    test = tagged("p53/B/B and/O/O BRCA1/B/B rise/O/O", "Kras/B/O binds/O/B")
    counts = seen_unseen_counts(test, forms)
    # gold: p53 (seen, found), BRCA1 (unseen, found), Kras (unseen, missed); predicted: p53, BRCA1, binds (unseen, wrong)
    assert counts == {"gold_seen": 1, "gold_unseen": 2, "pred_seen": 1, "pred_unseen": 2, "tp_seen": 1, "tp_unseen": 1}


def test_a_predicted_mention_is_split_by_its_own_surface_form():
    forms = training_forms([window("p53/B")])
    # gold "p53 protein" is unseen; the prediction "p53" is seen and wrong
    counts = seen_unseen_counts(tagged("p53/B/B protein/I/O"), forms)
    assert counts["gold_unseen"] == 1 and counts["pred_seen"] == 1 and counts["tp_seen"] == counts["tp_unseen"] == 0


def test_ablation_changes_the_split():
    train = [window("alpha/B"), window("beta/B")]
    test = tagged("alpha/B/B beta/B/B")
    assert seen_unseen_counts(test, training_forms(ablate(train, 0.0, 1)))["gold_seen"] == 2
    kept = ablate(train, 0.5, 1)
    assert len(kept) == 1
    counts = seen_unseen_counts(test, training_forms(kept))
    assert counts["gold_seen"] == 1 and counts["gold_unseen"] == 1
    unseen = "beta" if kept[0].words == ["alpha"] else "alpha"
    assert unseen not in training_forms(kept)


def test_boundary_slip_missed_and_spurious_are_counted():
    test = tagged(
        "IL-2/B/B receptor/I/O alpha/I/O",  # boundary slip: gold IL-2 receptor alpha, predicted IL-2
        "Ras/B/B binds/O/O Raf/B/O",  # Ras exact, Raf missed
        "the/O/B cell/O/O",  # spurious
    )
    counts = boundary_counts(test)
    assert counts == {
        "gold": 3,
        "predicted": 3,
        "exact": 1,
        "boundary": 1,
        "boundary_gold": 1,
        "missed": 1,
        "spurious": 1,
    }
    assert counts["gold"] == counts["exact"] + counts["boundary_gold"] + counts["missed"]
    assert counts["predicted"] == counts["exact"] + counts["boundary"] + counts["spurious"]


def test_a_split_mention_counts_once_per_prediction():
    # gold "a b c d" predicted as "a b" + "c d": two boundary predictions, one gold overlapped inexactly
    counts = boundary_counts(tagged("a/B/B b/I/I c/I/B d/I/I"))
    assert counts["boundary"] == 2 and counts["boundary_gold"] == 1 and counts["exact"] == counts["missed"] == 0


def test_i_without_b_in_predictions_is_no_mention_as_at_the_entity_level():
    counts = boundary_counts(tagged("a/B/I b/O/O"))
    assert counts["predicted"] == 0 and counts["missed"] == 1


def _job(tmp_path, kind="stl", ablation=0.0, seed=1, train_windows=2, without=""):
    folder = tmp_path / kind / f"a{ablation}" / f"s{seed}"
    (folder / "predictions").mkdir(parents=True)
    (folder / "predictions" / "t1.test.tsv").write_text(
        "-DOCSTART-\t0\tO\tO\n\nalpha\tB\tB\nbeta\tB\tO\n\n-DOCSTART-\t1\tO\tO\n\ngamma\tB\tB\ndelta\tI\tO\n\n",
        encoding="utf-8",
    )
    return {
        "kind": kind, "without": without, "task": "t1", "entity_type": "gene", "ablation": ablation, "seed": seed,
        "train_windows": train_windows, "split": "test", "level": "entity", "f1": 0.5, "source": str(folder / "metrics.json"),
    }  # fmt: skip


def test_analyse_follows_each_jobs_ablation_and_seed(tmp_path):
    save_windows([window("alpha/B"), window("beta/B")], tmp_path / "train.pt", {})
    rows = [_job(tmp_path), _job(tmp_path, kind="mtl", ablation=0.5, train_windows=1)]
    results = pd.DataFrame(rows)
    predictions = [tmp_path / "stl/a0.0/s1/predictions/t1.test.tsv", tmp_path / "mtl/a0.5/s1/predictions/t1.test.tsv"]
    assert len(read_tagged(predictions[0])) == 2
    seen, boundary = analyse(results, predictions, {"t1": tmp_path / "train.pt"})
    stl, mtl = seen.set_index("kind").loc["stl"], seen.set_index("kind").loc["mtl"]
    assert (stl["gold_seen"], stl["gold_unseen"], stl["tp_seen"], stl["train_forms"]) == (2, 1, 1, 2)
    assert stl["f1_seen"] == pytest.approx(2 * 1 / (1 + 2)) and stl["recall_unseen"] == 0.0
    assert (mtl["gold_seen"], mtl["gold_unseen"], mtl["train_forms"]) == (1, 2, 1)
    row = boundary.set_index("kind").loc["stl"]
    assert (row["exact"], row["boundary"], row["missed"], row["spurious"]) == (1, 1, 1, 0)
    assert row["f1_strict"] == pytest.approx(2 * 1 / (2 + 3)) and row["f1_overlap"] == pytest.approx(
        2 * 1 * (2 / 3) / (1 + 2 / 3)
    )

    corpus = pd.DataFrame({"task": ["t1"], "entity": ["gene"], "dataset": ["D1"]})
    table = summarise(seen, corpus, ["f1_seen", "f1_unseen", "gold_seen"])
    assert list(table["kind"]) == ["stl", "mtl"] and table["gold_seen"].dtype.kind == "i"

    # a window cache that no longer matches the job is an error, not a silent wrong split
    with pytest.raises(UserError, match="trained on 5"):
        analyse(pd.DataFrame([rows[0] | {"train_windows": 5}]), predictions, {"t1": tmp_path / "train.pt"})
    with pytest.raises(UserError, match="no predictions given"):
        analyse(results, predictions[:1], {"t1": tmp_path / "train.pt"})


def test_unseen_part_with_no_mentions_is_empty_not_zero():
    counts = seen_unseen_counts(tagged("alpha/B/B"), {"alpha"})
    from mtlner.report.analysis import _seen_unseen_scores

    scores = _seen_unseen_scores(counts)
    assert scores["f1_seen"] == 1.0 and math.isnan(scores["f1_unseen"])


def test_write_analysis_writes_tables_and_figures(tmp_path):
    save_windows([window("alpha/B"), window("beta/B")], tmp_path / "train.pt", {})
    rows = []
    for kind, ablation, kept in (("stl", 0.0, 2), ("stl", 0.5, 1), ("mtl", 0.0, 2), ("mtl", 0.5, 1)):
        for seed in (1, 2):
            rows.append(_job(tmp_path, kind, ablation, seed, kept))
    results = pd.DataFrame(rows)
    results.to_csv(tmp_path / "metrics.csv", index=False)
    stats = tmp_path / "stats.json"
    split = {"mentions": 1, "unique_mentions": 1, "sentences": 1, "tokens": 1, "density": 1.0}
    stats.write_text(
        json.dumps(
            {
                "task": "t1",
                "entity_type": "gene",
                "dataset": "D1",
                "splits": {s: split for s in ("train", "dev", "test")},
            }
        )
    )
    predictions = [(tmp_path / r["source"]).parent / "predictions" / "t1.test.tsv" for r in rows]
    written = write_analysis(
        tmp_path / "metrics.csv",
        [stats],
        predictions,
        {"t1": tmp_path / "train.pt"},
        tmp_path / "tables",
        tmp_path / "figures",
    )
    names = sorted(p.name for p in written)
    assert "seen_unseen.csv" in names and "boundary_errors.md" in names
    assert "fig_unseen_data_ablation.png" in names and "fig_boundary_errors_mtl.svg" in names
    assert "fig_boundary_errors_stl_from_mtl.png" not in names
    table = pd.read_csv(tmp_path / "tables" / "seen_unseen.csv")
    assert len(table) == 4 and "f1_unseen_sd" in table
    assert (tmp_path / "tables" / "boundary_errors.md").read_text().startswith("# Boundary errors")
