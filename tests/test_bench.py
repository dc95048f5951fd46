"""The benchmark's helpers: FLOP counting, the original procedure's fixed padding and batches.

Fast (a tiny random BERT, no corpus); no timing assertions.
"""

import random
import sys
from pathlib import Path

import torch

from mtlner.corpus import Sentence, TaggedDocument
from mtlner.inference import IGNORE, collate, predict_windows
from mtlner.model import MultiTaskTagger
from mtlner.train import Task, TrainConfig
from mtlner.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench  # noqa: E402
from original_procedure import evaluate_padded, fixed_batches, padded_collate, plan_epoch_original, predict_padded  # noqa: E402

H, LAYERS, INTER = 16, 2, 32


def _tiny_model(tasks=("a",)):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50, hidden_size=H, num_hidden_layers=LAYERS, num_attention_heads=2, intermediate_size=INTER, max_position_embeddings=64
    )
    return MultiTaskTagger(BertModel(config), {t: "gene" for t in tasks}, dropout=0.0).eval()


def _window(n, doc=0):
    words = n - 2
    return Window(
        input_ids=[1] + [5 + (i % 40) for i in range(words)] + [2],
        labels=[3] + [i % 3 for i in range(words)] + [3],
        word_ends=list(range(1, n - 1)),
        sentence_lengths=[words],
        words=[f"w{i}" for i in range(words)],
        doc=doc,
    )


def test_matmul_params_counts_encoder_linears_and_heads_not_embeddings_or_pooler():
    model = _tiny_model(("a", "b"))
    per_layer = 4 * H * H + 2 * H * INTER  # q, k, v, attention output; FFN in and out
    assert bench.matmul_params(model) == LAYERS * per_layer + 2 * H * 4  # two 4-way heads


def test_window_flops_formula():
    # 6 * N * L + 3 * 4 * layers * d * L^2 for training; a third of that for inference
    assert bench.window_flops(10, params=1000, layers=2, hidden=8) == 6 * 1000 * 10 + 12 * 2 * 8 * 100
    assert bench.window_flops(10, 1000, 2, 8, training=False) == 2 * 1000 * 10 + 4 * 2 * 8 * 100
    # MiniLM (6 x 384, FFN 1536) at 512 tokens: about 77 MFLOP per token for training
    minilm = 6 * (4 * 384 * 384 + 2 * 384 * 1536)
    per_token = bench.window_flops(512, minilm, 6, 384) / 512
    assert 70e6 < per_token < 80e6


def test_original_procedure_pads_every_batch_to_max_length():
    windows = [_window(n) for n in (5, 9, 17, 30)]
    ids, mask, labels = padded_collate(windows, pad_id=0, max_length=64, device=torch.device("cpu"))
    assert ids.shape == mask.shape == labels.shape == (4, 64)
    assert mask.sum(1).tolist() == [5, 9, 17, 30]
    assert (labels[mask == 0] == IGNORE).all() and (ids[mask == 0] == 0).all()
    # mtlner pads to the longest window of the batch instead
    ids, _, _ = collate(windows, 0, torch.device("cpu"))
    assert ids.shape == (4, 30)


def test_original_batches_are_fixed_size_cover_every_window_once_round_robin():
    batches = fixed_batches(53, 25, random.Random(0))
    assert [len(b) for b in batches] == [25, 25, 3]
    assert sorted(i for b in batches for i in b) == list(range(53))
    tasks = [Task("x", "gene", [_window(6)] * 7, [], []), Task("y", "gene", [_window(6)] * 3, [], [])]
    plan = plan_epoch_original(tasks, 2, random.Random(0))
    assert [t for t, _ in plan] == ["x", "y", "x", "y", "x", "x"]
    assert all(len(b) <= 2 for _, b in plan)


def test_padded_and_dynamic_prediction_agree():
    """Padding changes the cost, not the predictions (so the two procedures score the same model alike)."""
    model = _tiny_model()
    windows = [_window(n, doc=i) for i, n in enumerate((5, 12, 30, 7))]
    dynamic = [r["a"].labels for r in predict_windows(model, windows, 0, torch.device("cpu"), max_tokens=64)]
    padded = predict_padded(model, "a", windows, 0, 64, 3, torch.device("cpu"))
    assert dynamic == padded
    task = Task("a", "gene", [], windows, windows)
    result = evaluate_padded(model, task, "dev", 0, 64, 3, torch.device("cpu"))
    assert result["word"]["gold"] == sum(1 for w in windows for i in w.word_ends if w.labels[i] in (1, 2))


def test_sentence_windowing_helpers():
    docs = [
        TaggedDocument([Sentence(["a", "b"], ["O", "B"]), Sentence(["c"], ["O"])], "d1"),
        TaggedDocument([Sentence(["d"], ["O"]), Sentence(["e"], ["B"])], "d2"),
    ]
    assert [len(d.sentences) for d in bench.sentence_documents(docs)] == [1, 1, 1, 1]
    assert [len(d.sentences) for d in bench.first_sentences(docs, 3)] == [2, 1]
    assert bench.first_sentences(docs, None) is docs
    assert bench.max_length_of("512") == 512 and bench.max_length_of("sentence") == bench.SENTENCE_MAX_LENGTH


def test_train_config_defaults_match_the_bench_batching():
    """The bench gives mtlner max_tokens = batch * max_length so both procedures take the same steps."""
    cfg = TrainConfig()
    assert cfg.max_tokens == cfg.batch_size * 512


def test_sentence_batches_hold_the_same_padded_tokens_as_512_batches():
    assert bench.batch_size_for("512", 4) == 4
    assert bench.batch_size_for("sentence", 4) * bench.SENTENCE_MAX_LENGTH == 4 * 512
    assert bench.batch_size_for("sentence", 4, 10) == 10
