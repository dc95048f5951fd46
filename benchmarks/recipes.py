"""Recipe comparison on a real corpus: mtlner's CPU recipe against the standard Hugging Face one.

Issue 13 asks for a CPU recipe for the offline encoder (MiniLM) that beats the standard
fine-tune ("baseline" kind: one sentence a window, labels on the first subword, linear decay
from 5e-5, batches of 16) at equal epochs AND at equal wall time. This script measures it in
one command, through the same CLI the workflow's rules call (``mtlner prepare``, ``windows``,
``train``), on a slice of one of the real corpora in ``../shared/corpora``:

1. cut the first N sentences of each split (the corpora have no document marks, so a slice is
   a run of consecutive sentences, which ``pack`` windows keep together);
2. round "equal epochs": ours and the standard recipe, both ``--epochs E``, side by side, one
   torch thread each, so both see the same machine load;
3. round "equal wall time": the recipe that was faster in round 1 runs again with as many
   epochs as the slower one's time allows, side by side with the other (conservative for ours:
   ours gets floor(E x t_standard / t_ours) epochs when it is faster, the standard recipe
   ceil(E x t_ours / t_standard) when ours is slower, so ours never has more time).

Every job's metrics.json is kept; the summary (scores, seconds, steps, the machine's load) is
written as JSON. Seconds are the jobs' own ``train_seconds`` (training + dev evaluation, wall);
a ratio between two jobs of the same round is the number to read, not the absolute seconds.

    python benchmarks/recipes.py                       # ncbi_disease, 600/200/600 sentences
    python benchmarks/recipes.py --corpus bionlp13cg_cell --train 1000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = Path(os.environ.get("MTLNER_SHARED_CORPORA", ROOT.parent / "shared" / "corpora"))

# The two recipes, as `mtlner train` flags. Ours is the demo's (config/demo.yaml); the standard
# one is the `baseline` kind's defaults (workflow/schemas/config.schema.yaml), with a token budget
# large enough that no batch of 16 sentences is ever split.
OURS = {
    "windowing": "pack",
    "flags": [
        "--kind",
        "stl",
        "--label-subwords",
        "all",
        "--scheduler",
        "linear",
        "--warmup-ratio",
        "0.1",
        "--lr",
        "3e-4",
        "--batch-size",
        "2",
        "--max-tokens",
        "1024",
    ],
}
STANDARD = {
    "windowing": "sentence",
    "flags": [
        "--kind",
        "baseline",
        "--label-subwords",
        "first",
        "--scheduler",
        "linear",
        "--warmup-ratio",
        "0",
        "--lr",
        "5e-5",
        "--batch-size",
        "16",
        "--max-tokens",
        "8192",
    ],
}


def cut_slice(source: Path, target: Path, limits: dict[str, int], entity: str) -> dict[str, int]:
    """First N sentences of each split of a CoNLL corpus, written as IOB2 of ``entity``."""
    from mtlner.data.corpus import first_sentences, read_conll, write_conll

    counts = {}
    for split, limit in limits.items():
        path = source / f"{split}.tsv"
        if not path.is_file():
            sys.exit(f"recipes: {path} is missing (expected train.tsv, dev.tsv, test.tsv in {source})")
        docs = first_sentences(read_conll(path)[0], limit)
        target.mkdir(parents=True, exist_ok=True)
        write_conll(docs, target / f"{split}.tsv", entity)
        counts[split] = sum(len(d.sentences) for d in docs)
    return counts


def mtlner(*args: str) -> list[str]:
    return [sys.executable, "-m", "mtlner.cli", *args]


def run_side_by_side(jobs: dict[str, list[str]], logs: Path, reuse: bool = False) -> dict[str, float | None]:
    """Start every job at once; wait for all; fail loudly with the log of a failed one. With
    ``reuse``, a job whose metrics.json exists (from an earlier run of this script on the same
    work folder) is not run again; its wall seconds are then None."""
    started, procs, walls = time.perf_counter(), {}, {}
    for name, cmd in jobs.items():
        if reuse and (Path(cmd[cmd.index("--out-dir") + 1]) / "metrics.json").is_file():
            walls[name] = None
            continue
        log = (logs / f"{name}.log").open("w")
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env()), log)
    for name, (proc, log) in procs.items():
        rc = proc.wait()
        log.close()
        walls[name] = round(time.perf_counter() - started, 1)
        if rc != 0:
            tail = (logs / f"{name}.log").read_text()[-3000:]
            sys.exit(f"recipes: job {name} failed (exit {rc}); its log {logs / name}.log ends:\n{tail}")
    return walls


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def summarise(job_dir: Path, task: str) -> dict:
    metrics = json.loads((job_dir / "metrics.json").read_text())
    test = metrics["tasks"][task]["test"]
    return {
        "epochs": metrics["epochs"],
        "best_epoch": metrics["best_epoch"],
        "steps": metrics["steps"],
        "train_seconds": metrics["train_seconds"],
        "entity": {k: round(test["entity"][k], 4) for k in ("precision", "recall", "f1")},
        "word_f1": round(test["word"]["f1"], 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--corpus", default="ncbi_disease")
    parser.add_argument("--entity", default=None, help="entity type (default: the corpus folder's suffix)")
    parser.add_argument("--train", type=int, default=600, help="training sentences")
    parser.add_argument("--dev", type=int, default=200)
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mtlner-recipes"))
    parser.add_argument("--reuse", action="store_true", help="keep jobs already run in --work (not re-timed)")
    parser.add_argument(
        "--out", type=Path, default=None, help="summary JSON (default benchmarks/results/recipes-<corpus>-<train>.json)"
    )
    args = parser.parse_args(argv)
    args.out = args.out or ROOT / "benchmarks" / "results" / f"recipes-{args.corpus}-{args.train}.json"

    source = args.corpora / args.corpus
    if not source.is_dir():
        print(f"recipes: SKIPPED, no corpus at {source} (set --corpora or MTLNER_SHARED_CORPORA)")
        return 0
    entity = args.entity or args.corpus.rsplit("_", 1)[-1]
    work, logs = args.work, args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    sizes = cut_slice(source, work / "raw", {"train": args.train, "dev": args.dev, "test": args.test}, entity)
    subprocess.run(
        mtlner(
            "prepare",
            "--task",
            args.corpus,
            "--entity",
            entity,
            "--input-dir",
            str(work / "raw"),
            "--out-dir",
            str(work / "corpus"),
        ),
        check=True,
        env=_env(),
    )
    for windowing in ("pack", "sentence"):
        subprocess.run(
            mtlner(
                "windows",
                "--corpus-dir",
                str(work / "corpus"),
                "--encoder",
                "packaged:minilm",
                "--max-length",
                str(args.max_length),
                "--windowing",
                windowing,
                "--out-dir",
                str(work / f"windows-{windowing}"),
            ),
            check=True,
            env=_env(),
        )

    def job(recipe: dict, name: str, epochs: int) -> list[str]:
        task = f"{args.corpus}={entity}={work / ('windows-' + recipe['windowing'])}"
        return mtlner(
            "train",
            "--task",
            task,
            "--init",
            "packaged:minilm",
            "--threads",
            "1",
            "--seed",
            str(args.seed),
            "--epochs",
            str(epochs),
            "--no-progress",
            "--no-checkpoint",
            *recipe["flags"],
            "--out-dir",
            str(work / name),
        )

    loads = {"before": os.getloadavg()[0]}
    e = args.epochs
    walls1 = run_side_by_side(
        {f"ours_{e}ep": job(OURS, f"ours_{e}ep", e), f"standard_{e}ep": job(STANDARD, f"standard_{e}ep", e)},
        logs,
        args.reuse,
    )
    loads["after_equal_epochs"] = os.getloadavg()[0]
    ours1, std1 = summarise(work / f"ours_{e}ep", args.corpus), summarise(work / f"standard_{e}ep", args.corpus)
    # equal wall time, conservatively for ours: the faster recipe gets more epochs, but never
    # more time than the slower one had (ours: floor), the standard one at least as much (ceil)
    rounds = {"equal_epochs": {"ours": ours1, "standard": std1, "job_wall_seconds": walls1}}
    ratio = std1["train_seconds"] / ours1["train_seconds"]
    ours_epochs, std_epochs = (max(e, math.floor(e * ratio)), e) if ratio >= 1 else (e, math.ceil(e / ratio))
    if (ours_epochs, std_epochs) != (e, e):
        names = {"ours": f"ours_{ours_epochs}ep_equal_time", "standard": f"standard_{std_epochs}ep_equal_time"}
        walls2 = run_side_by_side(
            {
                names["ours"]: job(OURS, names["ours"], ours_epochs),
                names["standard"]: job(STANDARD, names["standard"], std_epochs),
            },
            logs,
        )
        loads["after_equal_time"] = os.getloadavg()[0]
        rounds["equal_wall_time"] = {side: summarise(work / name, args.corpus) for side, name in names.items()}
        rounds["equal_wall_time"]["job_wall_seconds"] = walls2
    summary = {
        "corpus": args.corpus,
        "entity": entity,
        "sentences": sizes,
        "max_length": args.max_length,
        "seed": args.seed,
        "encoder": "packaged:minilm",
        "threads_per_job": 1,
        "recipes": {"ours": OURS, "standard": STANDARD},
        "rounds": rounds,
        "load_average_1min": loads,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    tmp.replace(args.out)
    for round_name, r in rounds.items():
        for side in ("ours", "standard"):
            s = r[side]
            p, rc, f1 = (s["entity"][k] for k in ("precision", "recall", "f1"))
            print(
                f"{round_name:16s} {side:9s} epochs {s['epochs']:2d} steps {s['steps']:5d} "
                f"entity P/R/F1 {p:.3f}/{rc:.3f}/{f1:.3f} word F1 {s['word_f1']:.3f} train {s['train_seconds']:.0f} s"
            )
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
