"""Speed benchmark: the original procedure (NLPatVCU multitasking_bert) against mtlner's.

ONE run, same machine, same real corpus subset, same model, same batch size (so the same number
of optimiser steps per epoch), two windowings:

- ``512``: the paper's windows (consecutive sentences packed up to 512 subwords);
- ``sentence``: one sentence per window, at most 128 subwords (a longer sentence is cut at a word
  boundary outside mentions by ``build_windows``' own rule). The original procedure pads these
  to 128, the windowing's maximum (not to 512: that would only flatter mtlner).

The original procedure is ``original_procedure.py`` beside this file (pad every window to
max_length, fixed batches, fp32, dev AND test predicted every epoch); mtlner's is
:func:`mtlner.train.train` itself (length-bucketed token-budget batches, dynamic padding, dev
every epoch, test once at the best epoch, bf16 + fused AdamW on CUDA). The original saves the
model every epoch; mtlner writes its resumable checkpoint as it does in the workflow (on SIGTERM
and every checkpoint_minutes, 15 by default).

    python benchmarks/bench.py                      # default: CPU, a fixed subset, ~5 min on 2 cores
    python benchmarks/bench.py --full --device cuda --batch-size 25    # the paper's batch on a GPU

Absolute times vary between runs and machines; compare the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from original_procedure import padded_collate, plan_epoch_original, train_original  # noqa: E402  (benchmarks/, beside this file)

from mtlner.corpus import TaggedDocument, read_conll  # noqa: E402
from mtlner.inference import collate, pick_device  # noqa: E402
from mtlner.model import MultiTaskTagger, load_tokenizer  # noqa: E402
from mtlner.train import Task, TrainConfig, train  # noqa: E402
from mtlner.windows import build_windows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = Path(os.environ.get("MTLNER_SHARED_CORPORA", ROOT.parent / "shared" / "corpora"))
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


def first_sentences(docs: list[TaggedDocument], limit: int | None) -> list[TaggedDocument]:
    """The first ``limit`` sentences of a split, document structure kept (None: all)."""
    if limit is None:
        return docs
    out, left = [], limit
    for d in docs:
        if left <= 0:
            break
        out.append(TaggedDocument(d.sentences[:left], d.doc_id))
        left -= len(out[-1].sentences)
    return out


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
    final_test_seconds: float  # mtlner: the one test pass (+ checkpoint reload); original: 0
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

    @property
    def epoch_seconds(self) -> float:
        return self.run_seconds / len(self.dev_f1)


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
        corpus_flops(padded_lengths, model) + corpus_flops([max_length] * len(task.dev + task.test), model, training=False),
        steady_epoch_seconds(hist),
    )


def run_mtlner(task, tokenizer, cfg, max_length, device, memory, workdir) -> Result:
    from mtlner.train import plan_epoch

    model = fresh_model(task, cfg.seed, cfg.dropout)
    memory.reset()
    t, cpu = time.perf_counter(), time.process_time()
    out = train(model, tokenizer, [task], cfg, workdir)
    _sync(device)
    run, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = memory.peak_mib()
    hist = out["history"]
    plan = plan_epoch([task], cfg, random.Random(cfg.seed))
    padded, padded_lengths = padded_train_tokens(task, [b for _, b in plan], None)
    lengths = [len(w.input_ids) for w in task.train]
    in_epochs = sum(h["train_seconds"] + h["eval_seconds"] for h in hist)
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


def fmt_table(results: list[Result], peak: float, device: torch.device, epochs: int) -> str:
    head = (
        "| windowing | procedure | steps/epoch | train s/epoch | eval s/epoch | epoch s (train+eval) | epoch speed-up"
        " | train real tok/s | tok/s ratio | MFU (real) | HFU (incl. pads) | inference tok/s | peak mem MiB"
        " | dev word F1 by epoch | test word F1 (best dev epoch) | CPU-s ratio | work ratio (FLOPs)"
        " | steady epoch s (2nd+) | steady speed-up |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    by_windowing: dict[str, dict[str, Result]] = {}
    for r in results:
        by_windowing.setdefault(r.windowing, {})[r.procedure] = r
    for windowing, pair in by_windowing.items():
        orig = pair.get("original")
        for proc in ("original", "mtlner"):
            r = pair.get(proc)
            if r is None:
                continue
            tok_s = r.train_tokens / r.train_seconds
            speed = orig.epoch_seconds / r.epoch_seconds if orig else float("nan")
            tok_ratio = tok_s / (orig.train_tokens / orig.train_seconds) if orig else float("nan")
            infer = r.eval_tokens / r.eval_seconds
            cpu_ratio = orig.cpu_seconds / r.cpu_seconds if orig and r.cpu_seconds else float("nan")
            work_ratio = orig.work_flops / r.work_flops if orig and r.work_flops else float("nan")
            steady = orig.steady_seconds / r.steady_seconds if orig else float("nan")
            lines.append(
                f"| {windowing} | {proc} | {r.steps} | {r.train_seconds:.1f} | {r.eval_seconds:.1f}"
                f" | {r.epoch_seconds:.1f} | {speed:.2f}x | {tok_s:.0f} | {tok_ratio:.2f}x"
                f" | {100 * r.flops / r.train_seconds / peak:.0f}% | {100 * r.padded_flops / r.train_seconds / peak:.0f}%"
                f" | {infer:.0f} | {r.peak_mib:.0f} | {' / '.join(f'{f:.3f}' for f in r.dev_f1)} | {r.test_f1:.3f}"
                f" | {cpu_ratio:.2f}x | {work_ratio:.2f}x | {r.steady_seconds:.2f} | {steady:.2f}x |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="bc5cdr_chemical")
    parser.add_argument("--corpora-dir", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--sentences", type=int, default=120, help="first N sentences of each split (default 120)")
    parser.add_argument("--full", action="store_true", help="whole corpus (overrides --sentences)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4, help="windows per batch for BOTH procedures (paper: 25; 4 keeps the CPU default short)")
    parser.add_argument(
        "--sentence-batch-size", type=int, default=0,
        help="windows per batch at sentence windowing, both procedures (0: batch-size x 512/128, the same padded tokens per batch)",
    )  # fmt: skip
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--encoder", default="packaged:minilm", help="encoder for both procedures (path, hub name or packaged:minilm)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: one per core)")
    parser.add_argument("--windowings", default="512,sentence")
    parser.add_argument("--compile", action="store_true", help="mtlner with torch.compile (CUDA only)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    global ENCODER
    ENCODER = args.encoder

    started = time.perf_counter()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    device = pick_device(args.device)
    folder = args.corpora_dir / args.corpus
    if not (folder / "train.tsv").is_file():
        print(f"bench: corpus {folder} not found (set --corpora-dir or MTLNER_SHARED_CORPORA)", file=sys.stderr)
        return 2
    machine = machine_description(device)
    print("machine:", json.dumps(machine), flush=True)
    peak = matmul_peak(device)
    print(f"dense matmul peak ({'bf16' if device.type == 'cuda' else 'fp32'}, {device.type}): {peak / 1e9:.1f} GFLOP/s", flush=True)

    tokenizer = load_tokenizer(ENCODER)
    splits = {s: read_conll(folder / f"{s}.tsv")[0] for s in ("train", "dev", "test")}
    limit = None if args.full else args.sentences

    # (e) preprocessing throughput: build_windows on the WHOLE corpus (all three splits)
    prep = {}
    for windowing in args.windowings.split(","):
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
    memory = PeakMemory(device)
    results: list[Result] = []
    notes = []
    for k, windowing in enumerate(args.windowings.split(",")):
        max_length = max_length_of(windowing)
        subset = {s: first_sentences(d, limit) for s, d in splits.items()}
        w = {s: windows_for(d, tokenizer, windowing) for s, d in subset.items()}
        task = Task(args.corpus, "chemical", w["train"], w["dev"], w["test"])
        # same batch size for both; the token budget never binds, so both take the same steps
        batch = batch_size_for(windowing, args.batch_size, args.sentence_batch_size)
        cfg = replace(base_cfg, batch_size=batch, max_tokens=batch * max_length)
        sizes = {s: (len(v), sum(len(x.input_ids) for x in v)) for s, v in w.items()}
        print(f"[{windowing}] windows (count, real subwords): {sizes}", flush=True)
        diff = padding_equivalence(task, tokenizer, max_length, args.seed)
        notes.append(f"[{windowing}] max |logit| difference, same windows padded to {max_length} vs dynamically: {diff:.2e}")
        print(notes[-1], flush=True)
        order = ("original", "mtlner") if k % 2 == 0 else ("mtlner", "original")  # ABBA against drift
        for proc in order:
            with tempfile.TemporaryDirectory() as workdir:
                runner = run_original if proc == "original" else run_mtlner
                r = runner(task, tokenizer, cfg, max_length, device, memory, workdir)
            results.append(r)
            print(f"[{windowing}] {proc}: {r.run_seconds:.1f} s for {args.epochs} epochs, dev word F1 {r.dev_f1}", flush=True)

    peak_end = matmul_peak(device)
    print(f"dense matmul peak at the end: {peak_end / 1e9:.1f} GFLOP/s (the table uses the larger)")
    peak = max(peak, peak_end)
    print()
    print(
        f"corpus {args.corpus}, {'full' if args.full else f'first {args.sentences} sentences of each split'}, "
        f"{args.epochs} epochs, batch {args.batch_size} windows at 512 and {batch_size_for('sentence', args.batch_size, args.sentence_batch_size)} at sentence level for both, lr {args.lr}, seed {args.seed}, "
        f"device {device}, {torch.get_num_threads()} threads; peak {peak / 1e9:.1f} GFLOP/s"
    )
    print()
    print(fmt_table(results, peak, device, args.epochs))
    print()
    for windowing, words_s in prep.items():
        print(f"preprocessing words/s ({windowing}): {words_s:.0f}")
    for r in results:
        if r.procedure == "mtlner":
            print(f"mtlner [{r.windowing}]: final test pass (once per run, + best-weights reload) {r.final_test_seconds:.1f} s, included in epoch s")
    for n in notes:
        print(n)
    print(f"bench wall time: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "peak_flops": peak, "preprocessing_words_per_s": prep,
                                         "results": [r.__dict__ for r in results], "args": {k: str(v) for k, v in vars(args).items()}}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
