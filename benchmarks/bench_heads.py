"""What a CRF head costs per training epoch next to the linear head, inside real training.

    python benchmarks/bench_heads.py                                  # the demo's BC5CDR slice, 3 repeats
    python benchmarks/bench_heads.py --corpus ../shared/corpora/bc5cdr_chemical --sentences 600

Through the CLI the workflow's rules call (``mtlner prepare``, ``windows``, ``train``): the
corpus is prepared and windowed once (MiniLM, 128-subword windows), then STL jobs of one epoch
(batches of 8, one torch thread each, no checkpoint) run one at a time, linear and CRF
alternating (the order swapped every repeat, so both heads see the same machine load). Per job:
the epoch's training seconds and dev-scoring seconds (metrics.json ``history``), and the peak
resident memory of its process (``os.wait4``'s ``ru_maxrss``). The ratio CRF / linear of the
medians is the number to read; the summary (with the machine's load) is written as JSON.
``--sentences N`` keeps the first N sentences of each split (the real corpora have no
document marks, so a slice is a run of consecutive sentences).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT / "resources" / "demo" / "corpora" / "chemical_bc5cdr"
HEADS = ("linear", "crf")


def _env() -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": str(ROOT / "src"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
    }


def _mtlner(*args: str) -> list[str]:
    return [sys.executable, "-m", "mtlner.cli", *args]


def _slice(source: Path, dest: Path, sentences: int | None) -> Path:
    """The first ``sentences`` sentences (blank-line separated) of every split, or the whole files."""
    dest.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        text = (source / f"{split}.tsv").read_text(encoding="utf-8")
        if sentences:
            blocks = [b for b in text.split("\n\n") if b.strip()]
            text = "\n\n".join(blocks[:sentences]) + "\n"
        (dest / f"{split}.tsv").write_text(text, encoding="utf-8")
    return dest


def _train(windows: Path, out: Path, head: str, batch: int, seed: int) -> dict:
    cmd = _mtlner(
        "train", "--kind", "stl", "--task", f"bench=chemical={windows}", "--init", "packaged:minilm",
        "--head", head, "--seed", str(seed), "--threads", "1", "--epochs", "1", "--batch-size", str(batch),
        "--lr", "3e-4", "--device", "cpu", "--no-progress", "--no-checkpoint", "--out-dir", str(out),
    )  # fmt: skip
    with open(out.parent / f"{out.name}.log", "w") as log:
        proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(
            f"{head} job failed (rc {proc.returncode}): {(out.parent / f'{out.name}.log').read_text()[-2000:]}"
        )
    metrics = json.loads((out / "metrics.json").read_text())
    epoch = metrics["history"][0]
    test = metrics["tasks"]["bench"]["test"]
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return {
        "head": head,
        "train_seconds": epoch["train_seconds"],
        "eval_seconds": epoch["eval_seconds"],
        "steps": epoch["steps"],
        "peak_rss_mb": usage.ru_maxrss * scale / 2**20,
        "test_entity_f1": test["entity"]["f1"],
        "test_word_f1": test["word"]["f1"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder with {train,dev,test}.tsv")
    parser.add_argument("--sentences", type=int, help="keep the first N sentences of each split")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()
    if not (args.corpus / "train.tsv").is_file():
        raise SystemExit(f"{args.corpus} has no train.tsv (give --corpus a folder with train/dev/test.tsv)")
    with tempfile.TemporaryDirectory(prefix="bench-heads-") as tmp:
        tmp = Path(tmp)
        corpus = _slice(args.corpus, tmp / "raw", args.sentences)
        prepared, windows = tmp / "corpus", tmp / "windows"
        for step in (
            ["prepare", "--task", "bench", "--entity", "chemical", "--input-dir", str(corpus), "--out-dir", str(prepared)],
            ["windows", "--corpus-dir", str(prepared), "--encoder", "packaged:minilm", "--max-length", "128",
             "--out-dir", str(windows)],
        ):  # fmt: skip
            subprocess.run(_mtlner(*step), env=_env(), check=True, capture_output=True)
        runs = []
        for repeat in range(args.repeats):
            for head in HEADS if repeat % 2 == 0 else HEADS[::-1]:
                runs.append(
                    _train(windows, tmp / f"{head}-{repeat}", head, args.batch_size, seed=1) | {"repeat": repeat}
                )
                print(json.dumps(runs[-1]), flush=True)
    median = {
        head: {
            key: statistics.median(r[key] for r in runs if r["head"] == head)
            for key in ("train_seconds", "eval_seconds", "peak_rss_mb")
        }
        for head in HEADS
    }
    summary = {
        "corpus": str(args.corpus),
        "sentences": args.sentences,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_after": os.getloadavg()},
        "median": median,
        "crf_over_linear": {k: median["crf"][k] / median["linear"][k] for k in median["crf"]},
        "runs": runs,
    }
    print(json.dumps({"median": median, "crf_over_linear": summary["crf_over_linear"]}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
