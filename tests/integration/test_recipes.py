"""The recipe keys: sentence windows, which subwords carry the loss, the step budget (the
schema's training keys matching TrainConfig: tests/unit/test_config_schema.py)."""

import pytest
import torch

from mtlner.data.corpus import Sentence, TaggedDocument
from mtlner.errors import UserError
from mtlner.data.labels import IGNORE, LABEL_ID, SPECIAL, word_positions
from mtlner.training.inference import collate
from mtlner.training.model import MultiTaskTagger
from mtlner.training.loop import TrainConfig, train
from mtlner.training.job import training_scores
from mtlner.data.windows import build_windows

from tests.helpers.training import demo_task


def _doc(*sentences):
    return TaggedDocument([Sentence(t.split(), g.split(), line=i + 1) for i, (t, g) in enumerate(sentences)])


SENTENCES = (
    ("Interleukin-2 binds receptors .", "B I O O"),
    ("The hydroxychloroquine dose .", "O B O O"),
    ("Nothing here at all .", "O O O O O"),
)


def test_sentence_windowing_puts_one_sentence_in_each_window(tokenizer):
    doc = _doc(*SENTENCES)
    packed = build_windows([doc], tokenizer, 128, windowing="pack")
    single = build_windows([doc], tokenizer, 128, windowing="sentence")
    assert len(packed) == 1 and packed[0].sentence_lengths == [4, 4, 5]
    assert [w.sentence_lengths for w in single] == [[4], [4], [5]]
    # the same words and subwords, just cut differently
    assert sum((w.words for w in single), []) == packed[0].words
    assert sum((w.input_ids[1:-1] for w in single), []) == packed[0].input_ids[1:-1]
    with pytest.raises(UserError, match="windowing 'paragraph' is unknown"):
        build_windows([doc], tokenizer, 128, windowing="paragraph")


def test_first_subword_positions_and_labels(tokenizer):
    (window,) = build_windows([_doc(SENTENCES[0])], tokenizer, 64)
    pieces = [len(tokenizer(w, add_special_tokens=False)["input_ids"]) for w in window.words]
    assert pieces[0] > 1  # "Interleukin-2" is split, so first and last differ
    starts = word_positions(window, "first")
    assert starts[0] == 1 and starts[1] == 1 + pieces[0]
    assert word_positions(window, "all") == window.word_ends
    assert all(s <= e for s, e in zip(starts, window.word_ends))

    _, _, all_labels = collate([window], 0, torch.device("cpu"), "all")
    _, _, first_labels = collate([window], 0, torch.device("cpu"), "first")
    assert all_labels[0].tolist() == window.labels  # every subword, [CLS]/[SEP] as SPECIAL
    assert all_labels[0, 0] == SPECIAL
    kept = [i for i, v in enumerate(first_labels[0].tolist()) if v != IGNORE]
    assert kept == starts  # only first subwords carry the loss; [CLS]/[SEP] are ignored
    assert [first_labels[0, i].item() for i in starts] == [LABEL_ID[t] for t in "B I O O".split()]


def test_unknown_recipe_values_are_clear_errors():
    with pytest.raises(UserError, match="label_subwords 'last' is unknown"):
        TrainConfig(label_subwords="last")
    with pytest.raises(UserError, match="scheduler 'cosine' is unknown"):
        TrainConfig(scheduler="cosine")


@pytest.mark.slow
def test_step_budget_stops_after_that_many_steps_and_first_subword_training_runs(tokenizer, tmp_path):
    task = demo_task("species_demo", tokenizer, "species", limit=12)
    torch.manual_seed(0)
    model = MultiTaskTagger.create("packaged:minilm", {task.name: task.entity})
    cfg = TrainConfig(
        max_steps=5, batch_size=4, max_tokens=512, lr=1e-4, progress=False, checkpoint=False, label_subwords="first"
    )
    result = training_scores(train(model, tokenizer, [task], cfg, tmp_path / "work"))
    # 12 windows in batches of at most 4: 3 steps an epoch, so 5 steps are two epochs, the second cut short
    assert result["steps"] == 5
    assert [h["steps"] for h in result["history"]] == [3, 2]
    assert result["epochs"] == 2
    assert result["config"]["label_subwords"] == "first"
    assert 0.0 <= result["tasks"][task.name]["test"]["word"]["f1"] <= 1.0
