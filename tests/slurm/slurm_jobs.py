#!/usr/bin/env python3
"""Evidence that a snakemake run went through SLURM, read back from SLURM.

    python tests/slurm/slurm_jobs.py check LOGFILE [--min-jobs N]
        [--min-gpu-jobs N] [--expect-cpu-beside-gpu] [--json OUT]

LOGFILE is snakemake's console output; the slurm executor prints
"... submitted with SLURM jobid N (log: ...)" for every job it submits.
Each job is looked up with `scontrol show job -o` (accounting is disabled on
the CI cluster; MinJobAge keeps finished jobs there) and checked:

* every job COMPLETED with exit code 0:0;
* jobs that asked for a GPU (TresPerJob/TresPerNode has gres:gpu) never ran at
  the same time as another GPU job (the node has a single GPU gres);
* with --expect-cpu-beside-gpu: at least one CPU-only job ran while a GPU job
  was running (SLURM timestamps have a one-second resolution, so intervals
  are compared strictly: a job ending in the second another starts does not
  count as overlap).

Exit status 0 when all checks pass, 1 otherwise; a summary goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from datetime import datetime
from itertools import combinations

SUBMIT_RE = re.compile(r"submitted with SLURM jobid (\d+)")


def job_ids_from_log(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in SUBMIT_RE.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def parse_scontrol_oneliner(line: str) -> dict[str, str]:
    """Parse `scontrol show job -o` output (space separated Key=Value)."""
    out: dict[str, str] = {}
    # values never contain " Key=" sequences; split on spaces before Key=
    for tok in re.split(r" (?=[A-Za-z:/_]+=)", line.strip()):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def show_job(job_id: str) -> dict[str, str]:
    res = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id],
        capture_output=True, text=True, check=False,
    )
    if res.returncode != 0 or not res.stdout.strip():
        raise RuntimeError(f"scontrol does not know job {job_id}: {res.stderr.strip()}")
    return parse_scontrol_oneliner(res.stdout.splitlines()[0])


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").timestamp()


def summarize(info: dict[str, str]) -> dict:
    tres = " ".join(info.get(k, "") for k in ("TresPerJob", "TresPerNode", "TRES"))
    return {
        "job_id": info.get("JobId"),
        "state": info.get("JobState"),
        "exit_code": info.get("ExitCode"),
        "comment": info.get("Comment", ""),
        "gpu": "gpu" in tres,
        "start": _ts(info["StartTime"]),
        "end": _ts(info["EndTime"]),
        "time_limit": info.get("TimeLimit"),
        "tres": info.get("TRES", ""),
        "tres_per_job": info.get("TresPerJob", info.get("TresPerNode", "")),
    }


def overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def check(jobs: list[dict], *, min_jobs: int, min_gpu_jobs: int,
          expect_cpu_beside_gpu: bool) -> list[str]:
    problems = []
    if len(jobs) < min_jobs:
        problems.append(f"only {len(jobs)} SLURM jobs, expected >= {min_jobs}")
    for j in jobs:
        if j["state"] != "COMPLETED" or j["exit_code"] != "0:0":
            problems.append(f"job {j['job_id']} ({j['comment']}): {j['state']} {j['exit_code']}")
    gpu = [j for j in jobs if j["gpu"]]
    cpu = [j for j in jobs if not j["gpu"]]
    if len(gpu) < min_gpu_jobs:
        problems.append(f"only {len(gpu)} GPU jobs, expected >= {min_gpu_jobs}")
    for a, b in combinations(gpu, 2):
        if overlap(a, b):
            problems.append(f"GPU jobs {a['job_id']} and {b['job_id']} overlapped")
    if expect_cpu_beside_gpu and not any(overlap(c, g) for c in cpu for g in gpu):
        problems.append("no CPU-only job ran while a GPU job was running")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("logfile")
    c.add_argument("--min-jobs", type=int, default=1)
    c.add_argument("--min-gpu-jobs", type=int, default=0)
    c.add_argument("--expect-cpu-beside-gpu", action="store_true")
    c.add_argument("--json", help="write the per-job summary here")
    args = ap.parse_args(argv)

    with open(args.logfile, encoding="utf-8", errors="replace") as fh:
        ids = job_ids_from_log(fh.read())
    jobs = [summarize(show_job(i)) for i in ids]
    t0 = min((j["start"] for j in jobs), default=0.0)
    for j in sorted(jobs, key=lambda j: (j["start"], j["job_id"])):
        print(f"  slurm job {j['job_id']:>5} {'GPU' if j['gpu'] else 'cpu'} "
              f"t={j['start'] - t0:5.0f}s..{j['end'] - t0:5.0f}s {j['state']:<9} "
              f"limit={j['time_limit']} {j['tres']} {j['comment']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(jobs, fh, indent=1)
    problems = check(jobs, min_jobs=args.min_jobs, min_gpu_jobs=args.min_gpu_jobs,
                     expect_cpu_beside_gpu=args.expect_cpu_beside_gpu)
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        print(f"OK: {len(jobs)} jobs went through SLURM "
              f"({sum(j['gpu'] for j in jobs)} GPU jobs, never overlapping)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
