"""Where a training step of mtlner's loop spends its time on CPU, and what an optimiser change buys.

    python benchmarks/profile_step.py                      # profile + A/B of the optimiser, ~2 min on 2 cores

1. torch.profiler over a few steps of the real step (collate, forward, loss, zero_grad,
   backward, clip, AdamW), grouped by operator, for the 512 and the sentence windowing;
2. the same batches timed with the per-tensor AdamW loop (torch's CPU default, what train.py
   used before) and with the fused kernel (what train.py uses now), interleaved in one run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench import DEFAULT_CORPORA, first_sentences, max_length_of, windows_for  # noqa: E402

from mtlner.data.corpus import read_conll  # noqa: E402
from mtlner.data.labels import IGNORE, LABELS  # noqa: E402
from mtlner.training.inference import collate  # noqa: E402
from mtlner.training.model import MultiTaskTagger, load_tokenizer  # noqa: E402
from mtlner.training.loop import Task, TrainConfig, plan_epoch  # noqa: E402


def make_step(model, optimizer, pad_id):
    cpu = torch.device("cpu")

    def step(task: Task, batch: list[int]) -> float:
        ids, mask, labels = collate([task.train[i] for i in batch], pad_id, cpu)
        logits = model(ids, mask, task.name)
        loss = F.cross_entropy(logits.float().reshape(-1, len(LABELS)), labels.reshape(-1), ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    return step


def optimizer_ab(reps: int) -> None:
    """The optimiser step alone on MiniLM's 22.7M parameters (random gradients), interleaved."""
    torch.manual_seed(1)
    model = MultiTaskTagger.create("packaged:minilm", {"t": "chemical"})
    params = list(model.parameters())
    variants = {
        "per-tensor AdamW (before)": torch.optim.AdamW(params, lr=1e-5, foreach=False),
        "foreach AdamW": torch.optim.AdamW(params, lr=1e-5, foreach=True),
        "fused AdamW (now)": torch.optim.AdamW(params, lr=1e-5, fused=True),
    }
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    times = {name: [] for name in variants}
    for rep in range(reps + 1):
        for name, opt in variants.items():
            t = time.perf_counter()
            opt.step()
            if rep:  # the first step allocates the optimiser state
                times[name].append(time.perf_counter() - t)
    print(f"## AdamW step alone, {sum(p.numel() for p in params) / 1e6:.1f}M parameters, {reps} interleaved reps")
    base = statistics.median(times["per-tensor AdamW (before)"])
    for name, ts in times.items():
        print(f"{name}: median {statistics.median(ts) * 1000:.0f} ms ({base / statistics.median(ts):.2f}x)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="bc5cdr_chemical")
    parser.add_argument("--corpora-dir", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per optimiser variant and windowing")
    parser.add_argument("--optimizer-reps", type=int, default=10, help="timed AdamW steps alone, per variant")
    args = parser.parse_args(argv)
    optimizer_ab(args.optimizer_reps)
    tokenizer = load_tokenizer("packaged:minilm")
    docs = first_sentences(read_conll(args.corpora_dir / args.corpus / "train.tsv")[0], args.sentences)
    for windowing in ("512", "sentence"):
        max_length = max_length_of(windowing)
        windows = windows_for(docs, tokenizer, windowing)
        task = Task("t", "chemical", windows, [], [])
        cfg = TrainConfig(batch_size=args.batch_size, max_tokens=args.batch_size * max_length)
        plan = [b for _, b in plan_epoch([task], cfg, random.Random(1))]
        torch.manual_seed(1)
        model = MultiTaskTagger.create("packaged:minilm", {"t": "chemical"}).train()
        variants = {
            "per-tensor AdamW (before)": torch.optim.AdamW(model.parameters(), lr=1e-5, foreach=False),
            "fused AdamW (now)": torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True),
        }
        steps = {name: make_step(model, opt, tokenizer.pad_token_id) for name, opt in variants.items()}
        for name, step in steps.items():  # warm-up: optimiser state allocation, first-call costs
            step(task, plan[0])
        times = {name: [] for name in steps}
        batches = [plan[i % len(plan)] for i in range(args.steps)]
        for batch in batches:  # interleaved, so machine load hits both alike
            for name, step in steps.items():
                t = time.perf_counter()
                step(task, batch)
                times[name].append(time.perf_counter() - t)
        tokens = statistics.mean(sum(len(task.train[i].input_ids) for i in b) for b in batches)
        print(
            f"\n## {windowing} windows (max {max_length}), batch {args.batch_size}, ~{tokens:.0f} real subwords per step"
        )
        base = statistics.median(times["per-tensor AdamW (before)"])
        for name, ts in times.items():
            print(
                f"{name}: median step {statistics.median(ts):.3f} s ({base / statistics.median(ts):.2f}x)  all: {[round(t, 2) for t in ts]}"
            )
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[:2]:
                steps["fused AdamW (now)"](task, batch)
        print(f"\ntorch.profiler, 2 steps with the fused optimiser ({windowing}):")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))
    return 0


if __name__ == "__main__":
    sys.exit(main())
