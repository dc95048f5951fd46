import random

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from mtlner.metrics import entity_counts, scores, word_counts


def test_word_level_hand_computed():
    gold = [["B", "I", "O", "O", "B"]]
    pred = [["B", "O", "O", "B", "B"]]
    # gold positives: B I B (3); predicted positives: B B B (3); correct: word 0 and word 4
    c = word_counts(gold, pred)
    assert (c.tp, c.predicted, c.gold) == (2, 3, 3)
    assert c.prf()["f1"] == pytest.approx(2 / 3)


def test_word_level_tag_must_match_not_just_be_positive():
    c = word_counts([["B", "I"]], [["I", "I"]])
    assert (c.tp, c.predicted, c.gold) == (1, 2, 2)


def test_entity_level_hand_computed_strict():
    gold = [["B", "I", "O", "B", "O"], ["B", "O"]]
    pred = [["B", "I", "O", "B", "I"], ["I", "O"]]
    # gold entities: (0,0-2) (0,3-4) (1,0-1); predicted strict: (0,0-2) (0,3-5); the lone I is not an entity
    c = entity_counts(gold, pred)
    assert (c.tp, c.predicted, c.gold) == (1, 2, 3)
    result = scores(gold, pred)["entity"]
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(1 / 3)


def test_entity_level_agrees_with_seqeval_strict_on_random_sequences():
    rng = random.Random(0)
    for _ in range(50):
        gold = [[rng.choice("BIO") for _ in range(rng.randint(1, 12))] for _ in range(5)]
        pred = [[rng.choice("BIO") for _ in s] for s in gold]
        typed = lambda seqs: [[t if t == "O" else f"{t}-X" for t in s] for s in seqs]  # noqa: E731
        ours = scores(gold, pred)["entity"]
        kwargs = dict(mode="strict", scheme=IOB2, zero_division=0)
        assert ours["f1"] == pytest.approx(f1_score(typed(gold), typed(pred), **kwargs))
        assert ours["precision"] == pytest.approx(precision_score(typed(gold), typed(pred), **kwargs))
        assert ours["recall"] == pytest.approx(recall_score(typed(gold), typed(pred), **kwargs))


def test_empty_predictions_score_zero_not_error():
    result = scores([["B", "O"]], [["O", "O"]])
    assert result["word"]["f1"] == 0.0 and result["entity"]["f1"] == 0.0
