#!/usr/bin/env python3
"""Compare every metrics.json of two workflow runs (same config, same seed, CPU).

    python tests/slurm/compare_metrics.py RESULTS_A RESULTS_B

Wall-clock fields (train_seconds, eval_seconds, startup_seconds, encoder_load_seconds) are
ignored; everything else (F1 scores, losses, best epoch, counts) must be equal. Exit 0 when all match, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TIMING_KEYS = {"train_seconds", "eval_seconds", "startup_seconds", "encoder_load_seconds", "launch"}


def strip(obj):
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


def diff(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'B' if k not in a else 'A'}")
            else:
                out += diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main(argv: list[str]) -> int:
    a_root, b_root = (Path(p) for p in argv[1:3])
    a_files = sorted(p.relative_to(a_root) for p in a_root.rglob("metrics.json"))
    b_files = sorted(p.relative_to(b_root) for p in b_root.rglob("metrics.json"))
    problems = []
    if a_files != b_files:
        problems.append(f"different metrics files: {sorted(map(str, set(a_files) ^ set(b_files)))}")
    if not a_files:
        problems.append(f"no metrics.json under {a_root}")
    for rel in sorted(set(a_files) & set(b_files)):
        a = strip(json.loads((a_root / rel).read_text()))
        b = strip(json.loads((b_root / rel).read_text()))
        d = diff(a, b)
        status = "identical" if not d else f"{len(d)} differences"
        print(f"  {rel}: {status}")
        problems += [f"{rel}{x}" for x in d[:20]]
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        print(f"OK: {len(a_files)} metrics.json identical (timings aside)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
