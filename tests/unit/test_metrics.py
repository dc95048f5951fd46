import random

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from mtlner.training.metrics import LEVELS, entity_counts, scores, word_counts, word_strict_counts


def test_paper_word_metric_strips_prefixes_hand_computed():
    gold = [["B", "I", "O", "O", "B"]]
    pred = [["B", "O", "O", "B", "I"]]
    # gold positives: words 0, 1, 4 (3); predicted positives: words 0, 3, 4 (3);
    # correct under the paper's metric (B and I are one label): words 0 and 4 (word 4 is I vs B)
    c = word_counts(gold, pred)
    assert (c.tp, c.predicted, c.gold) == (2, 3, 3)
    assert c.prf()["f1"] == pytest.approx(2 / 3)


def test_strict_word_metric_needs_the_exact_tag():
    gold = [["B", "I", "O", "O", "B"]]
    pred = [["B", "O", "O", "B", "I"]]
    # only word 0 has the exact tag; word 4 (gold B, predicted I) is wrong here
    c = word_strict_counts(gold, pred)
    assert (c.tp, c.predicted, c.gold) == (1, 3, 3)


def test_the_three_levels_differ_on_one_sentence():
    # gold: one two-word mention "B I" and a one-word mention "B"
    gold = [["B", "I", "O", "B"]]
    # prediction: the first mention's words are both tagged I (no B: not a strict-IOB2 entity),
    # the second mention exactly right
    pred = [["I", "I", "O", "B"]]
    result = scores(gold, pred)
    assert set(result) == set(LEVELS)
    # paper word metric: all 3 gold words predicted as the entity label -> P = R = 1
    assert result["word"]["f1"] == pytest.approx(1.0)
    # strict word metric: words 1 and 3 exact, word 0 (I for B) wrong -> P = R = 2/3
    assert (result["word_strict"]["tp"], result["word_strict"]["gold"]) == (2, 3)
    assert result["word_strict"]["f1"] == pytest.approx(2 / 3)
    # entity level: only the one-word mention matches; the I-I run is not an entity under
    # strict IOB2 -> 1 predicted, 2 gold, 1 correct
    assert (result["entity"]["tp"], result["entity"]["predicted"], result["entity"]["gold"]) == (1, 1, 2)
    assert result["entity"]["f1"] == pytest.approx(2 / 3)


def test_paper_word_metric_is_micro_f1_over_the_entity_label_only():
    # The paper's code takes sklearn micro-F1 over the entity label with O and BERT_TOKEN
    # excluded: here computed by hand as a binary confusion over "is the word in a mention".
    rng = random.Random(3)
    for _ in range(30):
        gold = [[rng.choice("BIO") for _ in range(rng.randint(1, 10))] for _ in range(4)]
        pred = [[rng.choice(["B", "I", "O", "SPECIAL"]) for _ in s] for s in gold]
        flat = [(g != "O", p in ("B", "I")) for gs, ps in zip(gold, pred) for g, p in zip(gs, ps)]
        tp = sum(g and p for g, p in flat)
        fp = sum(p and not g for g, p in flat)
        fn = sum(g and not p for g, p in flat)
        expected = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        assert scores(gold, pred)["word"]["f1"] == pytest.approx(expected)


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
    assert all(result[level]["f1"] == 0.0 for level in LEVELS)
