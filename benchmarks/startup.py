"""Start-up of one training job: process start to the end of its first optimiser step.

    python benchmarks/startup.py --windows DIR [--reps 5] [--src SRC ...] [--fork-server] [--json OUT]

Runs ``mtlner train`` (STL, the demo recipe, CPU, one thread) on the window cache in DIR as a
fresh process, ``--reps`` times, and breaks each run down by phase, from timestamps on
CLOCK_BOOTTIME (the clock of the kernel's process start time in /proc/self/stat, 10 ms
resolution, so "process start" is the fork of the job's process, interpreter start included):

    interpreter   process start -> first line of this driver (python itself, site, .pth files)
    torch         ``import torch``
    transformers  ``import transformers`` and its Auto classes
    model_code    ``transformers.modeling_utils``: the model code every encoder class imports
                  (in a plain ``mtlner train`` run this is part of loading the encoder)
    mtlner        the package: the CLI, its parser, mtlner.training.loop and what it imports
    windows       loading the window caches (train, dev, test)
    encoder       building the tagger: the encoder class's own module and the weights
    tokenizer     loading the tokenizer
    setup         device, optimiser, schedule, checkpoint fingerprint, first epoch's plan
    first_step    the first optimiser step

The imports are done in that order before the CLI runs (the same modules it would import
anyway, so the total is unchanged) to tell them apart; the other phases are timed by wrapping
the functions the CLI calls (mtlner's own code is not changed), so the same driver measures any
checkout: ``--src`` takes one or more ``src`` folders and runs them interleaved (rep 1 of each,
then rep 2 ...), which is how BENCHMARKS.md's before/after numbers were taken. ``metrics.json``'s
own ``startup_seconds`` and ``encoder_load_seconds`` (where the checkout writes them) are
printed beside. ``--fork-server`` also runs that plain command forked from a warm process
(``mtlner.run.forkserver``, what a local workflow run does), interleaved with the others, and
reports its ``startup_seconds`` (still from the job's own process start) and whole-process
time beside the plain command's. ``--importtime`` adds the top-level packages by cumulative import time
(``python -X importtime`` of the plain CLI command).
"""

from __future__ import annotations

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_age() -> float:
    """Seconds since this process was forked (CLOCK_BOOTTIME minus /proc/self/stat starttime)."""
    with open("/proc/self/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    return time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / CLK_TCK


_FIRST_LINE = process_age()
_FIRST_LINE_AT = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

PHASES = (
    "interpreter",
    "torch",
    "transformers",
    "model_code",
    "mtlner",
    "windows",
    "encoder",
    "tokenizer",
    "setup",
    "first_step",
)


def _train_argv(windows: str, out_dir: str) -> list[str]:
    return [
        "train",
        "--kind",
        "stl",
        "--task",
        f"demo=cell_line={windows}",
        "--init",
        "packaged:minilm",
        "--ablation",
        "0.0",
        "--seed",
        "1",
        "--threads",
        "1",
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--lr",
        "3e-4",
        "--scheduler",
        "linear",
        "--warmup-ratio",
        "0.1",
        "--batch-size",
        "2",
        "--max-tokens",
        "1024",
        "--no-progress",
        "--no-checkpoint",
        "--device",
        "cpu",
        "--out-dir",
        out_dir,
    ]


def _child(windows: str, out: str) -> None:
    """One measured run, in this process; prints one JSON line of phase end times."""
    marks = {"interpreter": _FIRST_LINE}

    def now() -> float:
        return _FIRST_LINE + time.monotonic() - _FIRST_LINE_AT

    import torch  # noqa: F401

    marks["torch"] = now()
    import transformers
    from transformers import AutoModel, AutoTokenizer  # noqa: F401

    marks["transformers"] = now()
    import transformers.modeling_utils  # noqa: F401

    marks["model_code"] = now()
    import mtlner.cli as cli  # what `python -m mtlner.cli` imports at module level

    parser = cli.build_parser()
    import mtlner.training.model as model
    import mtlner.training.loop as train
    import mtlner.data.windows as windows_mod

    import mtlner.training.cross_test  # noqa: F401  (mtlner train imports it)

    marks["mtlner"] = now()

    def wrap(module, name, before=None, after=None):
        original = getattr(module, name)

        def wrapped(*a, **k):
            if before and before not in marks:
                marks[before] = now()
            result = original(*a, **k)
            if after and after not in marks:
                marks[after] = now()
            return result

        setattr(module, name, wrapped)
        return original

    # cli imports these names inside _train, so patching the modules is enough
    wrap(windows_mod, "load_windows")
    create = model.MultiTaskTagger.create.__func__

    def create_timed(cls, *a, **k):
        marks.setdefault("windows", now())
        result = create(cls, *a, **k)
        marks.setdefault("encoder", now())
        return result

    model.MultiTaskTagger.create = classmethod(create_timed)
    wrap(model, "load_tokenizer", after="tokenizer")
    step = train.train_step

    def step_timed(run, *a, **k):
        marks.setdefault("setup", now())
        loss = step(run, *a, **k)
        marks.setdefault("first_step", now())
        return loss

    train.train_step = step_timed
    args = parser.parse_args(_train_argv(windows, out))
    args.run(args)
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    print(
        json.dumps(
            {
                "marks": marks,
                "startup_seconds": metrics.get("startup_seconds"),
                "encoder_load_seconds": metrics.get("encoder_load_seconds"),
                "modules": sorted(
                    m for m in ("pandas", "scipy", "matplotlib", "seqeval", "sklearn") if m in sys.modules
                ),
            }
        )
    )


def _phases(marks: dict) -> dict:
    out, last = {}, 0.0
    for p in PHASES:
        out[p] = round(marks[p] - last, 3)
        last = marks[p]
    out["total"] = round(last, 3)
    return out


def _importtime(src: str, windows: str) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (python -X importtime of the CLI)."""
    with tempfile.TemporaryDirectory() as out:
        env = os.environ | {"PYTHONPATH": src}
        res = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "mtlner.cli", *_train_argv(windows, out)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    totals = {}
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (x.strip() for x in line[len("import time:") :].split("|"))
        if not cumulative.isdigit():
            continue
        if not name.startswith(" ") and "." not in name:  # top level: no indentation
            totals[name] = totals.get(name, 0) + int(cumulative) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:12]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", required=True, help="a task's window cache folder (train.pt, dev.pt, test.pt)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--src", nargs="+", default=[str(Path(__file__).resolve().parents[1] / "src")])
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument(
        "--fork-server",
        action="store_true",
        help="also run the plain command forked from a warm process (mtlner.run.forkserver), interleaved",
    )
    ap.add_argument("--json")
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_out:
        _child(args.windows, args.child_out)
        return 0
    runs = {src: [] for src in args.src}
    servers = {src: _start_server(src) for src in args.src} if args.fork_server else {}
    try:
        return _measure(args, runs, servers)
    finally:
        for proc, folder in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
            shutil.rmtree(folder, ignore_errors=True)


def _start_server(src: str):
    """A warm process for one checkout, as the Snakefile's onstart hook starts it."""
    folder = tempfile.mkdtemp(prefix="mtlner-bench-fs-")
    sock = Path(folder) / "s.sock"
    env = os.environ | {"PYTHONPATH": src, "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtlner.run.forkserver", "--socket", str(sock)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the fork server of {src} did not start")
        time.sleep(0.05)
    return proc, folder


def _plain_train(windows: str, env: dict) -> tuple[float, dict]:
    """`mtlner train` as a workflow job runs it: its whole-process seconds and its metrics.json."""
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "mtlner.cli", *_train_argv(windows, out)], env=env, capture_output=True, check=True
        )
        wall = round(time.monotonic() - started, 3)
        return wall, json.loads((Path(out) / "metrics.json").read_text())


def _measure(args, runs, servers) -> int:
    for _ in range(args.reps):
        for src in args.src:
            with tempfile.TemporaryDirectory() as out:
                env = os.environ | {"PYTHONPATH": src, "TOKENIZERS_PARALLELISM": "false"}
                res = subprocess.run(
                    [sys.executable, __file__, "--windows", args.windows, "--child-out", out],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if res.returncode:
                    sys.stderr.write(res.stderr[-3000:])
                    return 1
                run = json.loads(res.stdout.strip().splitlines()[-1])
            # the plain command, as a workflow job runs it
            run["plain_wall_seconds"], metrics = _plain_train(args.windows, env)
            run["plain"] = {k: metrics.get(k) for k in ("startup_seconds", "encoder_load_seconds")}
            if src in servers:  # the same command, forked from the warm process
                served_env = env | {"MTLNER_FORKSERVER": str(Path(servers[src][1]) / "s.sock")}
                run["served_wall_seconds"], metrics = _plain_train(args.windows, served_env)
                run["served"] = {k: metrics.get(k) for k in ("startup_seconds", "encoder_load_seconds", "launch")}
            runs[src].append(run)
    report = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "python": sys.version.split()[0], "runs": {}}
    for src, rs in runs.items():
        phases = [_phases(r["marks"]) for r in rs]
        median = {p: round(statistics.median(ph[p] for ph in phases), 3) for p in (*PHASES, "total")}
        spread = {p: [min(ph[p] for ph in phases), max(ph[p] for ph in phases)] for p in (*PHASES, "total")}
        entry = {"median": median, "min_max": spread, "runs": rs}
        if args.importtime:
            entry["importtime"] = _importtime(src, args.windows)
        report["runs"][src] = entry
        print(f"{src}: median of {len(rs)} (min..max), seconds; loaded modules: {rs[-1]['modules']}")
        for p in (*PHASES, "total"):
            print(f"  {p:<12} {median[p]:6.3f}  ({spread[p][0]:.3f}..{spread[p][1]:.3f})")
        plain = [
            (r["plain"]["startup_seconds"], r["plain"]["encoder_load_seconds"], r["plain_wall_seconds"]) for r in rs
        ]
        print(f"  plain `mtlner train`: metrics.json (startup_seconds, encoder_load_seconds), whole process: {plain}")
        if all(p[0] is not None for p in plain):
            entry["plain_median"] = {
                "startup_seconds": statistics.median(p[0] for p in plain),
                "encoder_load_seconds": statistics.median(p[1] for p in plain),
                "beyond_encoder_seconds": statistics.median(p[0] - p[1] for p in plain),
            }
            print(f"  plain medians: {entry['plain_median']}")
        served = [r for r in rs if "served" in r]
        if served:
            if any(r["served"]["launch"] != "fork-server" for r in served):
                print("  WARNING: some 'served' runs ran in their own process (see launch)")
            entry["served_median"] = {
                "startup_seconds": statistics.median(r["served"]["startup_seconds"] for r in served),
                "encoder_load_seconds": statistics.median(r["served"]["encoder_load_seconds"] for r in served),
                "beyond_encoder_seconds": statistics.median(
                    r["served"]["startup_seconds"] - r["served"]["encoder_load_seconds"] for r in served
                ),
                "whole_process_seconds": statistics.median(r["served_wall_seconds"] for r in served),
                "plain_whole_process_seconds": statistics.median(r["plain_wall_seconds"] for r in served),
            }
            print(f"  forked from the warm process, medians: {entry['served_median']}")
        for name, sec in entry.get("importtime", []):
            print(f"  import {name:<24} {sec:6.3f}")
    print(f"load average {report['load_average']}, {report['cpus']} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
