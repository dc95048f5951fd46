"""Speed benchmark: the original procedure (NLPatVCU multitasking_bert) against mtlner's.

ONE command, same machine, same real corpus, same model, same batch size (so the same number
of optimiser steps per epoch), two windowings:

- ``512``: the paper's windows (consecutive sentences packed up to 512 subwords);
- ``sentence``: one sentence per window, at most 128 subwords (a longer sentence is cut at a word
  boundary outside mentions by ``build_windows``' own rule). The original procedure pads these
  to 128, the windowing's maximum (not to 512: that would only flatter mtlner).

The original procedure is ``original_procedure.py`` beside this file (pad every window to
max_length, fixed batches, fp32, dev AND test predicted every epoch, the model saved every
epoch); mtlner's is :func:`mtlner.training.loop.train` itself (length-bucketed token-budget batches,
dynamic padding, dev every epoch, test once at the best epoch, bf16 + fused AdamW on CUDA, its
resumable checkpoint on SIGTERM and every checkpoint_minutes, 15 by default).

Every (windowing, procedure) pair runs ``--repeats`` times, interleaved: repeat after repeat,
each windowing's two procedures back to back, which one goes first alternating per repeat and
per windowing (O M / M O, then M O / O M, ...), so a change in the machine's load falls on both.
Each ratio (whole-run epoch seconds, steady-state epoch seconds, CPU seconds, tokens/s) is
reported as the median and the min-max over the repeats, pairing the two procedures of the
same repeat; MFU divides by the dense-matmul peak measured in the same command (start and end;
the larger). Every raw run, the machine, the git commit and the data go to ``--out`` (default
``benchmarks/results/bench-<device>.json``), written atomically after every run.

Data: by default the WHOLE training split of ``--corpus`` (bionlp11id_chemical, the smallest
training split of the shared corpora: 2,496 sentences, 104k subwords at 512) and its whole dev
and test splits. On a 2-core CPU that is hours per repeat; ``--sentences N`` takes the first N
training sentences instead (a labelled subset; dev and test are cut to the same fraction of
their sentences so the corpus' train:dev:test proportions, and so the work ratio, stay) and
``--eval-sentences M`` cuts dev and test to their first M sentences. The JSON and the printed
table say which data ran.

    python benchmarks/bench.py                                  # whole split, 3 repeats (GPU; hours on 2 CPU cores)
    python benchmarks/bench.py --sentences 100 --repeats 3      # a CPU check, ~15-20 min on 2 cores
    python benchmarks/bench.py --device cuda --batch-size 25    # the paper's batch on a GPU

Absolute times vary between runs and machines; compare the ratios and their spread.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from original_procedure import padded_collate, plan_epoch_original, train_original  # noqa: E402  (benchmarks/, beside this file)

from mtlner.data.corpus import TaggedDocument, first_sentences, read_conll  # noqa: E402
from mtlner.training.inference import collate, pick_device  # noqa: E402
from mtlner.training.model import MultiTaskTagger, load_tokenizer  # noqa: E402
from mtlner.training.loop import Task, TrainConfig, train  # noqa: E402
from mtlner.training.job import training_scores
from mtlner.data.windows import build_windows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = Path(os.environ.get("MTLNER_SHARED_CORPORA", ROOT.parent / "shared" / "corpora"))
DEFAULT_CORPUS = "bionlp11id_chemical"  # the smallest whole training split of the shared corpora
RESULTS_DIR = ROOT / "benchmarks" / "results"
PROCEDURES = ("original", "mtlner")
SENTENCE_MAX_LENGTH = 128


# --------------------------------------------------------------------------- FLOP counting


def matmul_params(model: torch.nn.Module) -> int:
    """Weights that multiply every token: the Linear layers of the encoder stack and the heads.

    Embedding tables (lookups, no FLOPs per token) and the BERT pooler (not on the tagging
    path) are left out; biases and LayerNorm are negligible and left out too.
    """
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".pooler." not in f".{name}.":
            total += module.weight.numel()
    return total


def window_flops(length: int, params: int, layers: int, hidden: int, training: bool = True) -> float:
    """FLOPs for one window of ``length`` real tokens.

    Dense layers: 2 FLOPs per weight per token forward (x3 with backward: the usual 6*N*T).
    Attention scores and the weighted sum: 2*L*L*d each per layer forward (4*L^2*d), x3 with
    backward.
    """
    factor = 3 if training else 1
    return factor * (2.0 * params * length + 4.0 * layers * hidden * length * length)


def corpus_flops(lengths, model, training: bool = True) -> float:
    cfg = model.encoder.config
    params = matmul_params(model)
    return sum(window_flops(n, params, cfg.num_hidden_layers, cfg.hidden_size, training) for n in lengths)


def matmul_peak(device: torch.device, seconds: float = 3.0) -> float:
    """Best dense-matmul FLOP/s over repeated large square products (fp32 on CPU, bf16 on CUDA)."""
    if device.type == "cuda":
        n, dtype = 8192, torch.bfloat16
    else:
        n, dtype = 2048, torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        _sync(device)
        t = time.perf_counter()
        for _ in range(3 if device.type == "cpu" else 20):
            a @ b
        _sync(device)
        best = max(best, (3 if device.type == "cpu" else 20) * 2 * n**3 / (time.perf_counter() - t))
    return best


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


# --------------------------------------------------------------------------- memory


class PeakMemory:
    """Peak resident memory (CPU, VmHWM reset through /proc/self/clear_refs) or CUDA allocation."""

    def __init__(self, device: torch.device):
        self.device = device

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            return
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")

    def peak_mib(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated() / 2**20
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- data


def sentence_documents(docs: list[TaggedDocument]) -> list[TaggedDocument]:
    """Every sentence its own document, so build_windows gives one sentence per window."""
    return [TaggedDocument([s], d.doc_id) for d in docs for s in d.sentences]


def sentence_count(docs: list[TaggedDocument]) -> int:
    return sum(len(d.sentences) for d in docs)


def split_limits(totals: dict[str, int], sentences: int | None, eval_sentences: int | None) -> dict[str, int | None]:
    """Sentences to take from each split (None: the whole split).

    ``sentences`` cuts the training split to its first N sentences; dev and test then keep the
    same fraction of theirs (at least one), so the corpus' train:dev:test proportions stay.
    ``eval_sentences`` cuts dev and test to their first M sentences instead.
    """
    limits: dict[str, int | None] = {"train": None, "dev": None, "test": None}
    if sentences and sentences < totals["train"]:
        limits["train"] = sentences
        for s in ("dev", "test"):
            limits[s] = max(1, round(totals[s] * sentences / totals["train"]))
    if eval_sentences:
        for s in ("dev", "test"):
            limits[s] = eval_sentences
    return {s: (None if n is None or n >= totals[s] else n) for s, n in limits.items()}


def data_label(corpus: str, totals: dict[str, int], limits: dict[str, int | None]) -> str:
    """What ran, in words: 'whole' or 'first N of M sentences' for each split."""

    def one(split):
        n = limits[split]
        return (
            f"{split} whole ({totals[split]} sentences)"
            if n is None
            else f"{split} first {n} of {totals[split]} sentences"
        )

    subset = " - A SUBSET of the training split" if limits["train"] is not None else ""
    return f"{corpus}: " + ", ".join(one(s) for s in ("train", "dev", "test")) + subset


def windows_for(docs: list[TaggedDocument], tokenizer, windowing: str):
    if windowing == "512":
        return build_windows(docs, tokenizer, 512)
    return build_windows(sentence_documents(docs), tokenizer, SENTENCE_MAX_LENGTH)


def batch_size_for(windowing: str, batch_size: int, sentence_batch_size: int = 0) -> int:
    """Windows per batch, the same for both procedures; sentence batches hold as many padded
    subwords as the 512 ones in the original procedure unless told otherwise."""
    if windowing == "512":
        return batch_size
    return sentence_batch_size or batch_size * (512 // SENTENCE_MAX_LENGTH)


def max_length_of(windowing: str) -> int:
    return 512 if windowing == "512" else SENTENCE_MAX_LENGTH


# --------------------------------------------------------------------------- runs


@dataclass
class Result:
    windowing: str
    procedure: str
    steps: int
    run_seconds: float
    train_seconds: float  # mean per epoch
    eval_seconds: float  # mean per epoch (dev, plus test for the original)
    final_test_seconds: (
        float  # mtlner: the one test pass (+ best-weights reload) and anything else after the epochs; original: 0
    )
    train_tokens: int  # real subwords per epoch
    padded_tokens: int  # subwords fed to the encoder per epoch, pads included
    eval_tokens: int  # real subwords predicted per epoch
    flops: float  # useful training FLOPs per epoch (real tokens)
    padded_flops: float
    peak_mib: float
    dev_f1: list[float]
    best_epoch: int
    test_f1: float
    cpu_seconds: float = 0.0  # process CPU time of the whole run (less sensitive to a shared machine)
    work_flops: float = 0.0  # FLOPs executed per epoch, pads included: train + evaluation (+ test / epochs)
    steady_seconds: float = float("nan")  # mean train + evaluation of epochs 2+ (no warm-up, no checkpoint writes)
    repeat: int = 0
    position: int = 0  # where in the command's run order this run came (0 first)
    epoch_train_seconds: list[float] = field(default_factory=list)  # per epoch
    epoch_eval_seconds: list[float] = field(default_factory=list)  # per epoch (original: dev + test)
    test_seconds: float = 0.0  # all test prediction in the run (original: every epoch; mtlner: the one pass)
    checkpoint_seconds: float = 0.0  # writing checkpoints, whole run
    started_utc: str = ""
    load_before: list[float] = field(default_factory=list)  # 1, 5, 15 min load average
    load_after: list[float] = field(default_factory=list)

    @property
    def epoch_seconds(self) -> float:
        return self.run_seconds / len(self.dev_f1)

    @property
    def train_tok_s(self) -> float:
        return self.train_tokens / self.train_seconds if self.train_seconds else float("nan")


def padded_train_tokens(task: Task, batches: list[list[int]], pad_to: int | None) -> tuple[int, list[int]]:
    lengths = [len(w.input_ids) for w in task.train]
    total, padded_lengths = 0, []
    for b in batches:
        longest = pad_to or max(lengths[i] for i in b)
        total += longest * len(b)
        padded_lengths += [longest] * len(b)
    return total, padded_lengths


ENCODER = "packaged:minilm"  # --encoder replaces it (e.g. a BERT-base folder on a GPU machine)


def fresh_model(task: Task, seed: int, dropout: float):
    torch.manual_seed(seed)
    return MultiTaskTagger.create(ENCODER, {task.name: "chemical"}, dropout=dropout)


def steady_epoch_seconds(history: list[dict]) -> float:
    """Mean train + evaluation seconds of the epochs after the first: kernel selection, allocator
    growth and other warm-up land in epoch 1, checkpoint writes and the final test in neither."""
    later = history[1:]
    return sum(h["train_seconds"] + h["eval_seconds"] for h in later) / len(later) if later else float("nan")


def run_original(task, tokenizer, cfg, max_length, device, memory, workdir) -> Result:
    model = fresh_model(task, cfg.seed, cfg.dropout)
    memory.reset()
    t, cpu = time.perf_counter(), time.process_time()
    out = train_original(model, tokenizer, [task], cfg, max_length, device, checkpoint_dir=workdir)
    _sync(device)
    run, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = memory.peak_mib()
    hist = out["history"]
    extra = {
        "epoch_train_seconds": [h["train_seconds"] for h in hist],
        "epoch_eval_seconds": [h["eval_seconds"] for h in hist],
        "test_seconds": sum(h["test_seconds"] for h in hist),
        "checkpoint_seconds": sum(h["checkpoint_seconds"] for h in hist),
    }
    plan = plan_epoch_original([task], cfg.batch_size, random.Random(cfg.seed))
    padded, padded_lengths = padded_train_tokens(task, [b for _, b in plan], max_length)
    lengths = [len(w.input_ids) for w in task.train]
    return Result(
        max_length_label(max_length),
        "original",
        hist[0]["steps"],
        run,
        sum(h["train_seconds"] for h in hist) / len(hist),
        sum(h["eval_seconds"] for h in hist) / len(hist),
        0.0,
        sum(lengths),
        padded,
        sum(len(w.input_ids) for w in task.dev + task.test),
        corpus_flops(lengths, model),
        corpus_flops(padded_lengths, model),
        peak,
        [h["dev"][task.name]["word"] for h in hist],
        out["best_epoch"],
        out["best_test"][task.name]["word"],
        cpu,
        corpus_flops(padded_lengths, model)
        + corpus_flops([max_length] * len(task.dev + task.test), model, training=False),
        steady_epoch_seconds(hist),
        **extra,
    )


def run_mtlner(task, tokenizer, cfg, max_length, device, memory, workdir) -> Result:
    from mtlner.training.loop import plan_epoch

    model = fresh_model(task, cfg.seed, cfg.dropout)
    memory.reset()
    t, cpu = time.perf_counter(), time.process_time()
    out = training_scores(train(model, tokenizer, [task], cfg, workdir))
    _sync(device)
    run, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = memory.peak_mib()
    hist = out["history"]
    plan = plan_epoch([task], cfg, random.Random(cfg.seed))
    padded, padded_lengths = padded_train_tokens(task, [b for _, b in plan], None)
    lengths = [len(w.input_ids) for w in task.train]
    in_epochs = sum(h["train_seconds"] + h["eval_seconds"] for h in hist)
    extra = {
        "epoch_train_seconds": [h["train_seconds"] for h in hist],
        "epoch_eval_seconds": [h["eval_seconds"] for h in hist],
        "test_seconds": max(0.0, run - in_epochs),
        "checkpoint_seconds": out["checkpoint_seconds"],
    }
    return Result(
        max_length_label(max_length),
        "mtlner",
        hist[0]["steps"],
        run,
        sum(h["train_seconds"] for h in hist) / len(hist),
        sum(h["eval_seconds"] for h in hist) / len(hist),
        max(0.0, run - in_epochs),
        sum(lengths),
        padded,
        sum(len(w.input_ids) for w in task.dev),
        corpus_flops(lengths, model),
        corpus_flops(padded_lengths, model),
        peak,
        [h["dev"][task.name]["word"] for h in hist],
        out["best_epoch"],
        out["tasks"][task.name]["test"]["word"]["f1"],
        cpu,
        corpus_flops(padded_lengths, model)
        + corpus_flops([len(w.input_ids) for w in task.dev], model, training=False)
        + corpus_flops([len(w.input_ids) for w in task.test], model, training=False) / cfg.epochs,
        steady_epoch_seconds(hist),
        **extra,
    )


def max_length_label(max_length: int) -> str:
    return "512" if max_length == 512 else f"sentence (<= {max_length})"


def padding_equivalence(task: Task, tokenizer, max_length: int, seed: int, n: int = 4) -> float:
    """Max |logit difference| between a batch padded to max_length and the same batch padded dynamically."""
    model = fresh_model(task, seed, 0.0).eval()
    windows = sorted(task.train, key=lambda w: len(w.input_ids))[:n]
    cpu = torch.device("cpu")
    with torch.inference_mode():
        ids, mask, _ = collate(windows, tokenizer.pad_token_id, cpu)
        dynamic = model(ids, mask, task.name)
        ids, mask, _ = padded_collate(windows, tokenizer.pad_token_id, max_length, cpu)
        padded = model(ids, mask, task.name)
    worst = 0.0
    for row, w in enumerate(windows):
        k = len(w.input_ids)
        worst = max(worst, (dynamic[row, :k] - padded[row, :k]).abs().max().item())
    return worst


# --------------------------------------------------------------------------- report


def machine_description(device: torch.device) -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
    }
    with contextlib.suppress(Exception):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def git_description(root: Path = ROOT) -> dict:
    """The commit measured (read when the command starts, before any code runs), and which files
    under src/ or benchmarks/ differ from it."""
    info = {"commit": None, "dirty": None, "dirty_paths": []}
    with contextlib.suppress(Exception):
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "benchmarks"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        info["dirty_paths"] = [line[3:] for line in status.stdout.splitlines() if line.strip()]
        info["dirty"] = bool(info["dirty_paths"])
    return info


def load_average() -> list[float]:
    with contextlib.suppress(OSError):
        return [round(x, 2) for x in os.getloadavg()]
    return []


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- repeats and spread


def run_order(repeats: int, windowings: list[str]) -> list[tuple[int, str, str]]:
    """(repeat, windowing, procedure) in the order they run.

    Repeat after repeat, each windowing's two procedures back to back; which goes first
    alternates per repeat and per windowing (ABBA), so neither always runs on a warmer or
    quieter machine.
    """
    order = []
    for r in range(repeats):
        for k, windowing in enumerate(windowings):
            first = PROCEDURES if (r + k) % 2 == 0 else PROCEDURES[::-1]
            order += [(r, windowing, proc) for proc in first]
    return order


def spread(values) -> dict:
    """Median and min-max of the finite values (NaN where there are none)."""
    xs = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if not xs:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    mid = len(xs) // 2
    median = xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2
    return {"median": median, "min": xs[0], "max": xs[-1], "n": len(xs)}


def _ratio(a: float, b: float) -> float:
    return a / b if b and math.isfinite(a) and math.isfinite(b) else float("nan")


def mfu(r: Result, peak: float, padded: bool = False) -> float:
    """Training FLOPs per second / peak (real tokens; ``padded``: pads included, i.e. HFU)."""
    return _ratio(r.padded_flops if padded else r.flops, r.train_seconds * peak) if peak else float("nan")


def summarize(results: list[Result], peak: float) -> dict:
    """Per windowing: each ratio original/mtlner over the repeats (pairs of the same repeat), and
    per procedure the absolute numbers, each as median, min, max and n."""
    out: dict[str, dict] = {}
    windowings = list(dict.fromkeys(r.windowing for r in results))
    for windowing in windowings:
        runs = [r for r in results if r.windowing == windowing]
        pairs = {}
        for r in runs:
            pairs.setdefault(r.repeat, {})[r.procedure] = r
        complete = [p for _, p in sorted(pairs.items()) if len(p) == 2]
        ratios = {
            "epoch_speedup": spread(_ratio(p["original"].epoch_seconds, p["mtlner"].epoch_seconds) for p in complete),
            "steady_speedup": spread(
                _ratio(p["original"].steady_seconds, p["mtlner"].steady_seconds) for p in complete
            ),
            "cpu_seconds_ratio": spread(_ratio(p["original"].cpu_seconds, p["mtlner"].cpu_seconds) for p in complete),
            "tok_s_ratio": spread(_ratio(p["mtlner"].train_tok_s, p["original"].train_tok_s) for p in complete),
            "work_ratio": spread(_ratio(p["original"].work_flops, p["mtlner"].work_flops) for p in complete),
        }
        per_proc = {}
        for proc in PROCEDURES:
            mine = [r for r in runs if r.procedure == proc]
            per_proc[proc] = {
                "runs": len(mine),
                "steps": mine[0].steps if mine else 0,
                "epoch_seconds": spread(r.epoch_seconds for r in mine),
                "train_seconds": spread(r.train_seconds for r in mine),
                "eval_seconds": spread(r.eval_seconds for r in mine),
                "steady_seconds": spread(r.steady_seconds for r in mine),
                "test_seconds": spread(r.test_seconds for r in mine),
                "checkpoint_seconds": spread(r.checkpoint_seconds for r in mine),
                "cpu_seconds": spread(r.cpu_seconds for r in mine),
                "train_tok_s": spread(r.train_tok_s for r in mine),
                "inference_tok_s": spread(_ratio(r.eval_tokens, r.eval_seconds) for r in mine),
                "mfu": spread(mfu(r, peak) for r in mine),
                "hfu": spread(mfu(r, peak, padded=True) for r in mine),
                "peak_mib": spread(r.peak_mib for r in mine),
                "test_f1": spread(r.test_f1 for r in mine),
            }
        out[windowing] = {"ratios": ratios, "procedures": per_proc}
    return out


def fmt_spread(s: dict, digits: int = 2, unit: str = "", scale: float = 1.0) -> str:
    """'median [min-max]' ('n/a' without values; just the median for one value)."""
    if not s.get("n"):
        return "n/a"
    med, lo, hi = (f"{scale * s[k]:.{digits}f}{unit}" for k in ("median", "min", "max"))
    return med if s["n"] == 1 or lo == hi else f"{med} [{lo}-{hi}]"


def fmt_table(results: list[Result], peak: float, device: torch.device | None = None, epochs: int = 0) -> str:
    """Markdown: one row per windowing and procedure, each cell median [min-max] over the repeats;
    ratios are original/mtlner (mtlner/original for tok/s), 1.00x on the original's rows."""
    summary = summarize(results, peak)
    head = (
        "| windowing | procedure | repeats | steps/epoch | epoch s (whole run / epochs) | whole-run speed-up | steady epoch s (2nd+)"
        " | steady speed-up | CPU-s ratio | train real tok/s | tok/s ratio | MFU (real) | HFU (incl. pads) | inference tok/s"
        " | test s (run) | checkpoint s (run) | peak mem MiB | test word F1 | work ratio (FLOPs) |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for windowing, entry in summary.items():
        ratios = entry["ratios"]
        for proc in PROCEDURES:
            p = entry["procedures"][proc]
            if not p["runs"]:
                continue
            mine = proc == "mtlner"

            def ratio(key, mine=mine):
                return fmt_spread(ratios[key], unit="x") if mine else "1.00x"

            lines.append(
                f"| {windowing} | {proc} | {p['runs']} | {p['steps']} | {fmt_spread(p['epoch_seconds'], 1)} | {ratio('epoch_speedup')}"
                f" | {fmt_spread(p['steady_seconds'], 1)} | {ratio('steady_speedup')} | {ratio('cpu_seconds_ratio')}"
                f" | {fmt_spread(p['train_tok_s'], 0)} | {ratio('tok_s_ratio')} | {fmt_spread(p['mfu'], 0, '%', 100)}"
                f" | {fmt_spread(p['hfu'], 0, '%', 100)} | {fmt_spread(p['inference_tok_s'], 0)} | {fmt_spread(p['test_seconds'], 1)}"
                f" | {fmt_spread(p['checkpoint_seconds'], 2)} | {fmt_spread(p['peak_mib'], 0)} | {fmt_spread(p['test_f1'], 3)}"
                f" | {ratio('work_ratio')} |"
            )
    return "\n".join(lines)


def _jsonable(x):
    """NaN and infinities as null (strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def run_record(r: Result, peaks: dict) -> dict:
    """One raw run for the JSON: every field, the derived per-epoch and per-second numbers, MFU
    against each measured peak."""
    record = asdict(r)
    record.update(
        epoch_seconds=r.epoch_seconds,
        train_tok_s=r.train_tok_s,
        mfu=mfu(r, peaks.get("used") or 0.0),
        hfu=mfu(r, peaks.get("used") or 0.0, padded=True),
        mfu_vs_start_peak=mfu(r, peaks.get("start") or 0.0),
        mfu_vs_end_peak=mfu(r, peaks.get("end") or 0.0),
    )
    return record


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` atomically (a temporary file in the same folder, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable(payload), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def default_out(device: torch.device) -> Path:
    return RESULTS_DIR / f"bench-{device.type}.json"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus", default=DEFAULT_CORPUS, help=f"a folder of --corpora-dir (default {DEFAULT_CORPUS})"
    )
    parser.add_argument("--corpora-dir", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument(
        "--sentences", type=int, default=0,
        help="SUBSET: the first N sentences of the training split, dev and test cut to the same fraction (default 0: whole splits)",
    )  # fmt: skip
    parser.add_argument(
        "--eval-sentences",
        type=int,
        default=0,
        help="the first M sentences of dev and of test (default 0: see --sentences)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="whole splits (overrides --sentences and --eval-sentences; the default anyway)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each (windowing, procedure), interleaved (default 3)"
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=4,
        help="windows per batch for BOTH procedures (paper: 25; 4 keeps CPU runs short)",
    )
    parser.add_argument(
        "--sentence-batch-size", type=int, default=0,
        help="windows per batch at sentence windowing, both procedures (0: batch-size x 512/128, the same padded tokens per batch)",
    )  # fmt: skip
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--encoder", default="packaged:minilm", help="encoder for both procedures (path, hub name or packaged:minilm)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: one per core)")
    parser.add_argument("--windowings", default="512,sentence")
    parser.add_argument("--compile", action="store_true", help="mtlner with torch.compile (CUDA only)")
    parser.add_argument(
        "--out", "--json", dest="out", type=Path, help="raw results (default benchmarks/results/bench-<device>.json)"
    )
    args = parser.parse_args(argv)
    if args.full:
        args.sentences = args.eval_sentences = 0
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(Exception):  # transformers' "Loading weights" bar, once per run, in the log
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    global ENCODER
    ENCODER = args.encoder

    started, started_utc, git = time.perf_counter(), utc_now(), git_description()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    device = pick_device(args.device)
    out_path = args.out or default_out(device)
    folder = args.corpora_dir / args.corpus
    if not (folder / "train.tsv").is_file():
        print(f"bench: corpus {folder} not found (set --corpora-dir or MTLNER_SHARED_CORPORA)", file=sys.stderr)
        return 2
    machine = machine_description(device)
    machine["load_average_at_start"] = load_average()
    print("machine:", json.dumps(machine), flush=True)
    peaks = {"start": matmul_peak(device), "end": None, "used": None}
    peaks["used"] = peaks["start"]
    print(
        f"dense matmul peak ({'bf16' if device.type == 'cuda' else 'fp32'}, {device.type}): {peaks['start'] / 1e9:.1f} GFLOP/s",
        flush=True,
    )

    tokenizer = load_tokenizer(ENCODER)
    splits = {s: read_conll(folder / f"{s}.tsv")[0] for s in ("train", "dev", "test")}
    totals = {s: sentence_count(d) for s, d in splits.items()}
    limits = split_limits(totals, args.sentences or None, args.eval_sentences or None)
    subset = {s: first_sentences(d, limits[s]) for s, d in splits.items()}
    label = data_label(args.corpus, totals, limits)
    print("data:", label, flush=True)
    windowings = args.windowings.split(",")

    # preprocessing throughput: build_windows on the WHOLE corpus (all three splits)
    prep = {}
    for windowing in windowings:
        words = sum(len(s.tokens) for d in splits.values() for doc in d for s in doc.sentences)
        t = time.perf_counter()
        for docs in splits.values():
            windows_for(docs, tokenizer, windowing)
        prep[windowing] = words / (time.perf_counter() - t)
        print(f"preprocessing ({windowing}): {words} words, {prep[windowing]:.0f} words/s", flush=True)

    base_cfg = TrainConfig(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed, device=str(device),
        progress=False, checkpoint=True, compile=args.compile,
    )  # fmt: skip
    data = {
        "corpus": args.corpus,
        "folder": str(folder),
        "label": label,
        "whole_training_split": limits["train"] is None,
        "splits": {
            s: {
                "sentences_used": sentence_count(subset[s]),
                "sentences_total": totals[s],
                "words_used": sum(len(x.tokens) for d in subset[s] for x in d.sentences),
                "words_total": sum(len(x.tokens) for d in splits[s] for x in d.sentences),
            }
            for s in splits
        },
        "windows": {},
    }
    tasks, cfgs, notes = {}, {}, []
    for windowing in windowings:
        max_length = max_length_of(windowing)
        w = {s: windows_for(d, tokenizer, windowing) for s, d in subset.items()}
        tasks[windowing] = Task(args.corpus, "chemical", w["train"], w["dev"], w["test"])
        # same batch size for both; the token budget never binds, so both take the same steps
        batch = batch_size_for(windowing, args.batch_size, args.sentence_batch_size)
        cfgs[windowing] = replace(base_cfg, batch_size=batch, max_tokens=batch * max_length)
        data["windows"][windowing] = {
            s: {"windows": len(v), "subwords": sum(len(x.input_ids) for x in v)} for s, v in w.items()
        }
        print(f"[{windowing}] windows and real subwords: {data['windows'][windowing]}", flush=True)
        diff = padding_equivalence(tasks[windowing], tokenizer, max_length, args.seed)
        notes.append(
            f"[{windowing}] max |logit| difference, same windows padded to {max_length} vs dynamically: {diff:.2e}"
        )
        print(notes[-1], flush=True)

    order = run_order(args.repeats, windowings)
    memory = PeakMemory(device)
    results: list[Result] = []

    def payload(complete: bool) -> dict:
        return {
            "schema": 1,
            "complete": complete,
            "started_utc": started_utc,
            "finished_utc": utc_now() if complete else None,
            "wall_seconds": time.perf_counter() - started,
            "command": [Path(sys.executable).name, *sys.argv] if argv is None else ["bench.py", *argv],
            "args": {k: str(v) for k, v in vars(args).items()},
            "git": git,
            "machine": machine,
            "device": str(device),
            "peak_flops": peaks,
            "data": data,
            "batch_size": {wd: cfgs[wd].batch_size for wd in windowings},
            "order": [{"repeat": r, "windowing": wd, "procedure": proc} for r, wd, proc in order],
            "runs": [run_record(r, peaks) for r in results],
            "summary": summarize(results, peaks["used"]),
            "preprocessing_words_per_s": prep,
            "notes": notes,
        }

    for position, (repeat, windowing, proc) in enumerate(order):
        load_before, run_started = load_average(), utc_now()
        with tempfile.TemporaryDirectory() as workdir:
            runner = run_original if proc == "original" else run_mtlner
            r = runner(tasks[windowing], tokenizer, cfgs[windowing], max_length_of(windowing), device, memory, workdir)
        r.repeat, r.position, r.started_utc, r.load_before, r.load_after = (
            repeat,
            position,
            run_started,
            load_before,
            load_average(),
        )
        results.append(r)
        print(
            f"[repeat {repeat + 1}/{args.repeats}] [{windowing}] {proc}: {r.run_seconds:.1f} s for {args.epochs} epochs"
            f" (steady epoch {r.steady_seconds:.1f} s), dev word F1 {r.dev_f1}, load {r.load_before} -> {r.load_after}",
            flush=True,
        )
        write_json(out_path, payload(complete=False))

    peaks["end"] = matmul_peak(device)
    peaks["used"] = max(peaks["start"], peaks["end"])
    print(f"dense matmul peak at the end: {peaks['end'] / 1e9:.1f} GFLOP/s (MFU divides by the larger)")
    machine["load_average_at_end"] = load_average()
    print()
    print(
        f"data: {label}; {args.epochs} epochs, {args.repeats} repeats interleaved, batch {cfgs.get('512', base_cfg).batch_size} windows at 512"
        f" and {batch_size_for('sentence', args.batch_size, args.sentence_batch_size)} at sentence level for both, lr {args.lr}, seed {args.seed},"
        f" device {device}, {torch.get_num_threads()} threads; matmul peak start {peaks['start'] / 1e9:.1f} / end {peaks['end'] / 1e9:.1f} GFLOP/s;"
        f" load average start {machine['load_average_at_start']} / end {machine['load_average_at_end']}"
    )
    print()
    print(fmt_table(results, peaks["used"]))
    print()
    for windowing, words_s in prep.items():
        print(f"preprocessing words/s ({windowing}): {words_s:.0f}")
    for n in notes:
        print(n)
    write_json(out_path, payload(complete=True))
    print(f"raw results: {out_path}")
    print(f"bench wall time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
