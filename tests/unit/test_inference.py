"""mtlner.training.inference: the one IOB span decoder, length-sorted batches, padding, prediction.

Fast: hand-made tag sequences and a tiny random BERT built from a config (no download).
"""

import itertools
import random

import pytest
import torch
from seqeval.scheme import IOB2, Entities

from mtlner.data.labels import iob_spans

from mtlner.training.inference import collate, eval_batches, predict_windows
from mtlner.training.model import MultiTaskTagger
from mtlner.data.windows import Window


def _tiny_model(tasks=("a", "b")):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=60,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    return MultiTaskTagger(BertModel(config), {t: "gene" for t in tasks}).eval()


def _window(n: int, seed: int = 0) -> Window:
    """[CLS] + n - 2 random subwords + [SEP], one word per subword, in one sentence."""
    rng = random.Random(seed)
    words = n - 2
    return Window(
        input_ids=[1] + [rng.randrange(5, 60) for _ in range(words)] + [2],
        labels=[3] + [rng.randrange(3) for _ in range(words)] + [3],
        word_ends=list(range(1, n - 1)),
        sentence_lengths=[words],
        words=[f"w{i}" for i in range(words)],
        doc=0,
    )


# --------------------------------------------------------------------------- spans


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["I", "I", "O"], []),  # an I without a B starts nothing
        (["O", "I", "B", "I"], [(2, 4, "")]),
        (["B", "B", "I"], [(0, 1, ""), (1, 3, "")]),  # adjacent B B: two entities
        (["O", "B", "I", "I"], [(1, 4, "")]),  # a mention that runs to the end of the sentence
        (["B"], [(0, 1, "")]),
        (["B-gene", "I-species", "I-species"], [(0, 1, "gene")]),  # an I of another type continues nothing
        (["B-gene", "I-gene", "B-species", "I-species"], [(0, 2, "gene"), (2, 4, "species")]),
        (["B-cell-line", "I-cell-line"], [(0, 2, "cell-line")]),  # the type is all after the first hyphen
        (["B", "SPECIAL", "I"], [(0, 1, "")]),  # a special label is outside
        ([], []),
    ],
)
def test_iob_spans_on_hand_made_sequences(tags, spans):
    assert iob_spans(tags) == spans


def test_iob_spans_is_seqeval_strict_iob2_on_every_short_sequence():
    alphabet = ["O", "B-X", "I-X", "B-Y", "I-Y"]
    for length in range(6):
        for tags in itertools.product(alphabet, repeat=length):
            expected = sorted(
                (e.start, e.end, e.tag) for s in Entities([list(tags)], IOB2, suffix=False).entities for e in s
            )
            assert iob_spans(list(tags)) == expected, tags


# --------------------------------------------------------------------------- batches


def test_eval_batches_sort_by_length_and_stay_under_the_token_budget():
    lengths = [9, 3, 30, 5, 5, 12, 3]
    windows = [_window(n) for n in lengths]
    batches = eval_batches(windows, max_tokens=24)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= 24


def test_length_sorted_batches_return_predictions_in_the_original_order():
    model = _tiny_model()
    windows = [_window(n, seed=n) for n in (20, 4, 13, 7, 30, 4, 9)]
    cpu = torch.device("cpu")
    together = predict_windows(model, windows, 0, cpu, max_tokens=40, probabilities=True)
    assert len(eval_batches(windows, 40)) > 1  # several batches, none in the input's order
    for window, got in zip(windows, together):
        alone = predict_windows(model, [window], 0, cpu, max_tokens=40, probabilities=True)[0]
        assert set(got) == {"a", "b"}
        for task in ("a", "b"):
            assert got[task].labels == alone[task].labels
            assert got[task].probabilities == pytest.approx(alone[task].probabilities, abs=1e-6)
            assert len(got[task].labels) == len(window.word_ends)


def test_label_subwords_first_reads_each_words_first_subword():
    model = _tiny_model(("a",))
    # three words of 2, 1 and 3 subwords between [CLS] and [SEP]
    window = Window([1, 7, 8, 9, 10, 11, 12, 2], [3, 1, 1, 0, 1, 2, 2, 3], [2, 3, 6], [3], ["x", "y", "z"], 0)
    ids, mask, _ = collate([window], 0, torch.device("cpu"))
    with torch.inference_mode():
        best = model(ids, mask, "a").argmax(-1)[0]
    cpu = torch.device("cpu")
    assert predict_windows(model, [window], 0, cpu, 64)[0]["a"].labels == best[[2, 3, 6]].tolist()
    assert (
        predict_windows(model, [window], 0, cpu, 64, label_subwords="first")[0]["a"].labels == best[[1, 3, 4]].tolist()
    )


# --------------------------------------------------------------------------- padding


def test_padding_does_not_change_a_windows_logits():
    """A window's logits alone, padded beside longer neighbours, and padded to a fixed length agree."""
    model = _tiny_model()
    cpu = torch.device("cpu")
    short, neighbours = _window(6, seed=1), [_window(25, seed=2), _window(40, seed=3)]
    with torch.inference_mode():
        ids, mask, _ = collate([short], 0, cpu)
        alone = model(ids, mask, "a")[0]
        ids, mask, labels = collate([short, *neighbours], 0, cpu)
        assert ids.shape == (3, 40) and mask[0].sum() == 6 and (labels[0, 6:] == -100).all()
        batched = model(ids, mask, "a")[0, :6]
        ids, mask, _ = collate([short], 0, cpu, length=64)
        fixed = model(ids, mask, "a")[0, :6]
    assert torch.allclose(alone, batched, atol=1e-5)
    assert torch.allclose(alone, fixed, atol=1e-5)


def test_every_head_at_once_gives_each_heads_own_forward():
    """Several tasks: the encoder runs once for all heads, with the same numbers as one forward per task."""
    model = _tiny_model(("a", "b", "c"))
    windows = [_window(n, seed=n) for n in (5, 17, 11)]
    cpu = torch.device("cpu")
    every = predict_windows(model, windows, 0, cpu, 64, probabilities=True)
    for task in ("a", "b", "c"):
        one = predict_windows(model, windows, 0, cpu, 64, [task], probabilities=True)
        for all_heads, single in zip(every, one):
            assert all_heads[task].labels == single[task].labels
            assert all_heads[task].probabilities == pytest.approx(single[task].probabilities, abs=1e-6)
            assert all(0 < p <= 1 for p in single[task].probabilities)
    assert predict_windows(model, windows, 0, cpu, 64, ["b"])[0]["b"].probabilities is None


def test_collate_refuses_a_window_longer_than_a_fixed_length():
    with pytest.raises(ValueError, match="does not fit"):
        collate([_window(10)], 0, torch.device("cpu"), length=8)
