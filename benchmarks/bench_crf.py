"""What the CRF head costs next to the linear head's cross-entropy, on emissions alone (no encoder).

    python benchmarks/bench_crf.py                  # 16 windows x 512 positions, 3 labels, 1 thread, a few seconds

Times, interleaved over the repeats (median and min reported, in ms): the linear head's token
cross-entropy forward+backward and its argmax; the CRF's negative log-likelihood
forward+backward, its Viterbi decode and its forward-backward marginals. Every position but the
first and last ([CLS], [SEP]) is a word (one subword per word, the CRF's longest chain) unless
``--word-fraction`` says otherwise. The encoder, which dominates a real step, is not included.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from mtlner.training.crf import LinearChainCRF
from mtlner.data.labels import IGNORE


def _iob_labels(gen: torch.Generator, mask: torch.Tensor) -> torch.Tensor:
    """Random IOB2 gold labels on the masked positions (O=0, B=1, I=2; an I only after a B or I
    at the previous masked position), IGNORE elsewhere."""
    labels = torch.randint(0, 3, mask.shape, generator=gen)
    previous = torch.zeros(mask.shape[0], dtype=torch.long)  # a chain starts as after an O
    for t in range(mask.shape[1]):
        labels[(labels[:, t] == 2) & (previous == 0), t] = 1
        previous = torch.where(mask[:, t], labels[:, t], previous)
    return torch.where(mask, labels, IGNORE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--labels", type=int, choices=(3, 4), default=3, help="4: the project's O B I SPECIAL")
    parser.add_argument("--word-fraction", type=float, default=1.0, help="share of positions that are words")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = ("O", "B", "I", "SPECIAL")[: args.labels]
    gen = torch.Generator().manual_seed(0)
    emissions = torch.randn((args.batch, args.length, len(names)), generator=gen)
    mask = torch.rand((args.batch, args.length), generator=gen) < args.word_fraction
    mask[:, [0, -1]] = False
    gold = _iob_labels(gen, mask)
    crf = LinearChainCRF(names)

    def cross_entropy():
        x = emissions.detach().requires_grad_(True)
        F.cross_entropy(x.reshape(-1, len(names)), gold.reshape(-1), ignore_index=IGNORE).backward()

    def argmax():
        with torch.no_grad():
            emissions.argmax(-1)[mask].tolist()

    def crf_nll():
        x = emissions.detach().requires_grad_(True)
        crf.zero_grad()
        crf.neg_log_likelihood(x, gold, mask).backward()

    def crf_decode():
        crf.decode(emissions, mask)

    def crf_marginals():
        crf.marginals(emissions, mask)

    cases = {
        "linear cross-entropy fwd+bwd": cross_entropy,
        "linear argmax": argmax,
        "crf nll fwd+bwd": crf_nll,
        "crf viterbi decode": crf_decode,
        "crf marginals": crf_marginals,
    }
    for run in cases.values():  # warm-up
        run()
    times = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1e3)
    result = {
        "setup": {**vars(args), "words_per_window": float(mask.sum(1).float().mean()), "torch": torch.__version__},
        "ms": {name: {"median": statistics.median(t), "min": min(t)} for name, t in times.items()},
    }
    base = result["ms"]["linear cross-entropy fwd+bwd"]["median"]
    print(f"{args.batch} windows x {args.length} positions, {len(names)} labels, {args.threads} thread(s)")
    for name, t in result["ms"].items():
        print(f"  {name:30s} median {t['median']:9.2f} ms  min {t['min']:9.2f} ms  ({t['median'] / base:7.1f}x CE)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
