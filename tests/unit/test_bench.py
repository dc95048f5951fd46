"""The benchmark's helpers: FLOP counting, the original procedure's fixed padding and batches.

Fast (a tiny random BERT, no corpus); no timing assertions.
"""

import random
import sys
from pathlib import Path

import torch

from mtlner.data.corpus import Sentence, TaggedDocument
from mtlner.data.labels import IGNORE
from mtlner.training.inference import collate, predict_windows
from mtlner.training.model import MultiTaskTagger
from mtlner.training.loop import Task, TrainConfig
from mtlner.data.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench  # noqa: E402
from original_procedure import evaluate_padded, fixed_batches, padded_collate, plan_epoch_original, predict_padded  # noqa: E402

H, LAYERS, INTER = 16, 2, 32


def _tiny_model(tasks=("a",)):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=H,
        num_hidden_layers=LAYERS,
        num_attention_heads=2,
        intermediate_size=INTER,
        max_position_embeddings=64,
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


# --------------------------------------------------------------------------- repeats, spread, raw JSON


def _result(proc, windowing="512", repeat=0, epoch_s=10.0, steady=4.0, cpu=20.0, train_s=5.0, tokens=1000):
    """A fake run: ``epoch_s`` seconds per epoch over 2 epochs, the rest fixed."""
    return bench.Result(
        windowing, proc, steps=3, run_seconds=2 * epoch_s, train_seconds=train_s, eval_seconds=1.0, final_test_seconds=0.0,
        train_tokens=tokens, padded_tokens=tokens + 100, eval_tokens=500, flops=1e9, padded_flops=1.1e9, peak_mib=100.0,
        dev_f1=[0.1, 0.2], best_epoch=2, test_f1=0.3, cpu_seconds=cpu, work_flops=2e9 if proc == "original" else 1e9,
        steady_seconds=steady, repeat=repeat,
    )  # fmt: skip


def test_run_order_interleaves_procedures_and_alternates_which_goes_first():
    order = bench.run_order(3, ["512", "sentence"])
    assert len(order) == 3 * 2 * 2
    # every repeat runs each windowing's two procedures back to back, before the next repeat
    assert [r for r, _, _ in order] == [0] * 4 + [1] * 4 + [2] * 4
    assert [(w, p) for _, w, p in order[:4]] == [
        ("512", "original"),
        ("512", "mtlner"),
        ("sentence", "mtlner"),
        ("sentence", "original"),
    ]
    firsts = [order[i][2] for i in range(0, len(order), 2)]  # who goes first in each pair
    assert firsts == ["original", "mtlner", "mtlner", "original", "original", "mtlner"]
    for i in range(0, len(order), 2):
        assert order[i][:2] == order[i + 1][:2] and {order[i][2], order[i + 1][2]} == {"original", "mtlner"}
    assert bench.run_order(1, ["sentence"]) == [(0, "sentence", "original"), (0, "sentence", "mtlner")]


def test_spread_is_median_and_min_max_of_the_finite_values():
    assert bench.spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert bench.spread([4.0, 1.0, 2.0, 3.0])["median"] == 2.5
    assert bench.spread([1.0, float("nan"), None])["n"] == 1
    empty = bench.spread([])
    assert empty["n"] == 0 and empty["median"] != empty["median"]  # NaN
    assert bench.fmt_spread(bench.spread([1.5, 1.0, 2.0]), unit="x") == "1.50x [1.00x-2.00x]"
    assert bench.fmt_spread(bench.spread([1.19, 1.19]), unit="x") == "1.19x"
    assert bench.fmt_spread(bench.spread([])) == "n/a"


def test_summary_pairs_each_repeat_and_reports_the_spread_of_every_ratio():
    results = []
    for repeat, (o, m) in enumerate([(10.0, 5.0), (12.0, 4.0), (9.0, 9.0)]):  # whole-run ratios 2, 3, 1
        results.append(_result("original", repeat=repeat, epoch_s=o, steady=8.0, cpu=30.0, train_s=10.0))
        results.append(_result("mtlner", repeat=repeat, epoch_s=m, steady=2.0 * (repeat + 1), cpu=15.0, train_s=5.0))
    summary = bench.summarize(results, peak=1e9)["512"]
    ratios = summary["ratios"]
    assert ratios["epoch_speedup"] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert ratios["steady_speedup"] == {"median": 2.0, "min": 8.0 / 6.0, "max": 4.0, "n": 3}
    assert ratios["cpu_seconds_ratio"]["median"] == 2.0 and ratios["tok_s_ratio"]["median"] == 2.0
    assert ratios["work_ratio"] == {"median": 2.0, "min": 2.0, "max": 2.0, "n": 3}
    mine = summary["procedures"]["mtlner"]
    assert mine["runs"] == 3 and mine["train_tok_s"]["median"] == 200.0
    assert mine["mfu"]["median"] == 1e9 / 5.0 / 1e9  # useful FLOPs / train seconds / peak
    # an unpaired run (an interrupted command) counts for its procedure, not for the ratios
    summary = bench.summarize(results + [_result("original", repeat=3, epoch_s=100.0)], peak=1e9)["512"]
    assert summary["ratios"]["epoch_speedup"]["n"] == 3 and summary["procedures"]["original"]["runs"] == 4
    table = bench.fmt_table(results, 1e9)
    assert "2.00x [1.00x-3.00x]" in table and table.count("\n") == 3


def test_split_limits_cut_dev_and_test_to_the_training_fraction():
    totals = {"train": 2000, "dev": 500, "test": 1000}
    assert bench.split_limits(totals, None, None) == {"train": None, "dev": None, "test": None}
    assert bench.split_limits(totals, 100, None) == {"train": 100, "dev": 25, "test": 50}
    assert bench.split_limits(totals, None, 200) == {"train": None, "dev": 200, "test": 200}
    assert bench.split_limits(totals, 5000, None) == {
        "train": None,
        "dev": None,
        "test": None,
    }  # more than there is: whole
    whole = bench.data_label("c", totals, bench.split_limits(totals, None, None))
    assert "train whole (2000 sentences)" in whole and "SUBSET" not in whole
    assert "train first 100 of 2000 sentences" in bench.data_label("c", totals, bench.split_limits(totals, 100, None))


def test_bench_writes_every_raw_run_machine_commit_and_data_to_json(tmp_path, monkeypatch):
    """main() end to end with the training, the corpus and the peak faked: no timing asserted."""
    import json

    docs = [TaggedDocument([Sentence(["a", "b"], ["O", "B"]) for _ in range(10)], "d1")]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "train.tsv").write_text("")
    calls = []

    def fake_runner(proc):
        def run(task, tokenizer, cfg, max_length, device, memory, workdir):
            calls.append((proc, max_length, len(task.train)))
            return _result(proc, bench.max_length_label(max_length), epoch_s=10.0 if proc == "original" else 5.0)

        return run

    monkeypatch.setattr(bench, "matmul_peak", lambda device: 2e9)
    monkeypatch.setattr(bench, "load_tokenizer", lambda name: None)
    monkeypatch.setattr(bench, "read_conll", lambda path: (docs, None))
    monkeypatch.setattr(bench, "windows_for", lambda d, tok, windowing: [_window(6) for s in d for _ in s.sentences])
    monkeypatch.setattr(bench, "padding_equivalence", lambda *a: 0.0)
    monkeypatch.setattr(bench, "run_original", fake_runner("original"))
    monkeypatch.setattr(bench, "run_mtlner", fake_runner("mtlner"))
    out = tmp_path / "results" / "bench.json"
    argv = ["--corpora-dir", str(tmp_path), "--corpus", "c", "--repeats", "2", "--sentences", "4", "--out", str(out)]
    assert bench.main(argv) == 0

    data = json.loads(out.read_text())
    assert data["complete"] is True and not list(out.parent.glob(".*tmp"))  # renamed into place, no temporary left
    assert [c[0] for c in calls] == [o["procedure"] for o in data["order"]] == [r["procedure"] for r in data["runs"]]
    assert {"commit", "dirty", "dirty_paths"} <= set(data["git"]) and {"python", "torch", "threads", "cores"} <= set(
        data["machine"]
    )
    assert data["peak_flops"] == {"start": 2e9, "end": 2e9, "used": 2e9}
    assert data["data"]["whole_training_split"] is False and "first 4 of 10" in data["data"]["label"]
    assert data["data"]["splits"]["train"]["sentences_used"] == 4 and calls[0][2] == 4
    assert len(data["runs"]) == 8
    for run in data["runs"]:
        for key in (
            "repeat", "position", "procedure", "windowing", "epoch_train_seconds", "epoch_eval_seconds", "epoch_seconds",
            "test_seconds", "checkpoint_seconds", "train_tokens", "padded_tokens", "flops", "padded_flops", "peak_mib",
            "cpu_seconds", "load_before", "load_after", "started_utc", "mfu", "mfu_vs_start_peak", "mfu_vs_end_peak",
        ):  # fmt: skip
            assert key in run, key
    assert [r["repeat"] for r in data["runs"]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert data["summary"]["512"]["ratios"]["epoch_speedup"]["median"] == 2.0
    assert set(data["summary"]) == {"512", "sentence (<= 128)"}


def test_default_output_is_named_after_the_device():
    assert bench.default_out(torch.device("cpu")) == bench.RESULTS_DIR / "bench-cpu.json"
    assert bench.parse_args([]).repeats == 3 and bench.parse_args([]).sentences == 0  # whole split by default
    assert bench.parse_args(["--sentences", "50", "--full"]).sentences == 0
