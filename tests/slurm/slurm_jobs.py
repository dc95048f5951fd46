#!/usr/bin/env python3
"""Evidence that a snakemake run went through SLURM, read back from SLURM.

    python tests/slurm/slurm_jobs.py check LOGFILE [--min-jobs N]
        [--min-gpu-jobs N] [--expect-cpu-beside-gpu] [--json OUT]
    python tests/slurm/slurm_jobs.py grouped UNGROUPED_LOG GROUPED_LOG --group NAME
        --rules RULE [RULE ...]

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

``grouped`` compares a run with job groups (profiles/slurm-grouped) with the ungrouped run of
the same jobs: the jobs of RULES went to SLURM in fewer submissions (jobs of group NAME), each
group job COMPLETED and ran its member jobs itself (its SLURM log names them), and its request
is that of its members one after another: one GPU, the sum of their time limits, the largest
of their memory and CPU requests (read back from SLURM for both runs).

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
# "... submitted with SLURM jobid 12 (log: /w/.snakemake/slurm_logs/group_stl_pack/12.log)."
SUBMIT_LOG_RE = re.compile(
    r"submitted with SLURM jobid (\d+) \(log: (\S*?/slurm_logs/(rule|group)_([^/]+)/\S*?)\)?\.?$", re.MULTILINE
)


def job_ids_from_log(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in SUBMIT_RE.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def submissions(text: str) -> list[dict]:
    """Every submission in a snakemake log: SLURM job id, rule_ or group_ and its name, log file."""
    seen: dict[str, dict] = {}
    for m in SUBMIT_LOG_RE.finditer(text):
        seen.setdefault(m.group(1), {"job_id": m.group(1), "log": m.group(2), "kind": m.group(3), "name": m.group(4)})
    return list(seen.values())


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
        capture_output=True,
        text=True,
        check=False,
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
        "minutes": _minutes(info.get("TimeLimit", "")),
        "mem_mb": _tres_mem_mb(info.get("TRES", "")),
        "cpus": int(info.get("NumCPUs", "0") or 0),
        "gpus": _gpus(tres),
    }


def _minutes(limit: str) -> float | None:
    """SLURM's [days-]hours:minutes:seconds (or minutes:seconds) as minutes."""
    if not re.fullmatch(r"(\d+-)?\d+(:\d+){0,2}", limit or ""):
        return None
    days, _, rest = limit.rpartition("-")
    parts = [int(x) for x in rest.split(":")]
    h, m, sec = ([0] * (3 - len(parts)) + parts) if len(parts) > 1 else (0, parts[0], 0)
    return int(days or 0) * 1440 + h * 60 + m + sec / 60


def _tres_mem_mb(tres: str) -> float | None:
    m = re.search(r"(?:^|,)mem=([\d.]+)([KMGT]?)", tres)
    if not m:
        return None
    return float(m.group(1)) * {"K": 1 / 1024, "M": 1, "": 1, "G": 1024, "T": 1024**2}[m.group(2)]


def _gpus(tres: str) -> int:
    """GPUs asked for: gres/gpu=N (TRES), gres:gpu:N or gres/gpu:N (TresPerJob/Node)."""
    found = [int(n) for n in re.findall(r"gres[/:]gpu(?::[\w-]+)?[=:](\d+)", tres)]
    return max(found, default=0)


def overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def check(jobs: list[dict], *, min_jobs: int, min_gpu_jobs: int, expect_cpu_beside_gpu: bool) -> list[str]:
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


def _print_job(j: dict, t0: float) -> None:
    print(
        f"  slurm job {j['job_id']:>5} {'GPU' if j['gpu'] else 'cpu'} "
        f"t={j['start'] - t0:5.0f}s..{j['end'] - t0:5.0f}s {j['state']:<9} "
        f"limit={j['time_limit']} {j['tres']} {j['comment']}"
    )


def members_in_log(path: str, rules: list[str]) -> int:
    """Jobs of ``rules`` a group job ran: the `rule NAME:` headers in its SLURM log."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return -1
    # the group job's snakemake prints "rule NAME:" per job it runs (each job's own step then
    # prints "localrule NAME:", not counted)
    return len(re.findall(rf"^rule (?:{'|'.join(map(re.escape, rules))}):\s*$", text, re.MULTILINE))


def check_grouped(ungrouped: list[dict], grouped: list[dict], group: str, rules: list[str]) -> tuple[list[str], dict]:
    """The grouped run's submissions and requests against the ungrouped run's (see the module doc)."""
    problems = []
    members = [s for s in ungrouped if s["kind"] == "rule" and s["name"] in rules]
    # the plugin names a group job's log folder group_<group>_<its rules>: group_stl_pack_train_stl
    groups = [s for s in grouped if s["kind"] == "group" and (s["name"] == group or s["name"].startswith(f"{group}_"))]
    singles = [s for s in grouped if s["kind"] == "rule" and s["name"] in rules]
    summary = {
        "ungrouped_submissions": len(ungrouped),
        "grouped_submissions": len(grouped),
        "ungrouped_rule_submissions": len(members),
        "group_submissions": len(groups),
        "grouped_rule_submissions": len(singles),
    }
    if not members:
        problems.append(f"the ungrouped run submitted no job of {rules}")
    if not groups:
        problems.append(
            f"the grouped run submitted no job of group {group}: {[s['kind'] + '_' + s['name'] for s in grouped]}"
        )
    if len(groups) + len(singles) >= len(members):
        problems.append(
            f"grouping did not cut submissions: {len(members)} ungrouped, {len(groups)} group + {len(singles)} single jobs grouped"
        )
    ran = 0
    for g in groups:
        j = g["slurm"]
        n = members_in_log(g["log"], rules)
        g["members"] = n
        ran += max(n, 0)
        if j["state"] != "COMPLETED" or j["exit_code"] != "0:0":
            problems.append(f"group job {j['job_id']}: {j['state']} {j['exit_code']}")
        if j["gpus"] != 1:
            problems.append(f"group job {j['job_id']} asked for {j['gpus']} GPUs ({j['tres']}), expected 1")
    if ran + len(singles) != len(members):
        problems.append(
            f"the group jobs' logs name {ran} jobs of {rules} (+{len(singles)} single), the ungrouped run had {len(members)}"
        )
    expected = {}
    if len(groups) == 1 and not singles and members:
        ms = [m["slurm"] for m in members]
        expected = {
            "minutes": sum(m["minutes"] or 0 for m in ms),
            "mem_mb": max(m["mem_mb"] or 0 for m in ms),
            "cpus": max(m["cpus"] for m in ms),
            "gpus": 1,
        }
        got = {k: groups[0]["slurm"][k] for k in expected}
        summary |= {
            "group_request": got,
            "expected_request": expected,
            "member_requests": [{k: m[k] for k in expected} for m in ms],
        }
        for key, value in expected.items():
            if got[key] is None or abs(got[key] - value) > 1e-6:
                problems.append(
                    f"group job asked for {key}={got[key]}, expected {value} (members one after another: "
                    "GPU 1, time the sum, memory and CPUs the largest)"
                )
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("logfile")
    c.add_argument("--min-jobs", type=int, default=1)
    c.add_argument("--min-gpu-jobs", type=int, default=0)
    c.add_argument("--expect-cpu-beside-gpu", action="store_true")
    c.add_argument("--json", help="write the per-job summary here")
    g = sub.add_parser("grouped")
    g.add_argument("ungrouped_log")
    g.add_argument("grouped_log")
    g.add_argument("--group", required=True, help="group name (profiles/slurm-grouped: stl_pack)")
    g.add_argument(
        "--rules", nargs="+", required=True, help="rules of that group the ungrouped run submitted one by one"
    )
    g.add_argument("--json")
    args = ap.parse_args(argv)
    if args.cmd == "grouped":
        runs = {}
        for which, path in (("ungrouped", args.ungrouped_log), ("grouped", args.grouped_log)):
            with open(path, encoding="utf-8", errors="replace") as fh:
                runs[which] = submissions(fh.read())
            for s in runs[which]:
                s["slurm"] = summarize(show_job(s["job_id"]))
        problems, summary = check_grouped(runs["ungrouped"], runs["grouped"], args.group, args.rules)
        for which, subs in runs.items():
            print(
                f"  {which}: {len(subs)} sbatch submissions: "
                + ", ".join(
                    f"{s['kind']}_{s['name']}" + (f" ({s['members']} jobs)" if "members" in s else "") for s in subs
                )
            )
        for s in runs["grouped"]:
            if s["kind"] == "group":
                _print_job(s["slurm"], s["slurm"]["start"])
        if "group_request" in summary:
            print(f"  group request {summary['group_request']}; members asked for {summary['member_requests']}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"summary": summary, "runs": runs}, fh, indent=1)
        for p in problems:
            print(f"FAIL: {p}")
        if not problems:
            print(
                f"OK: {summary['ungrouped_rule_submissions']} submissions of {'/'.join(args.rules)} became "
                f"{summary['group_submissions']} of group {args.group} "
                f"(sbatch calls: {summary['ungrouped_submissions']} in the whole ungrouped run, "
                f"{summary['grouped_submissions']} in the grouped rerun)"
            )
        return 1 if problems else 0

    with open(args.logfile, encoding="utf-8", errors="replace") as fh:
        ids = job_ids_from_log(fh.read())
    jobs = [summarize(show_job(i)) for i in ids]
    t0 = min((j["start"] for j in jobs), default=0.0)
    for j in sorted(jobs, key=lambda j: (j["start"], j["job_id"])):
        _print_job(j, t0)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(jobs, fh, indent=1)
    problems = check(
        jobs, min_jobs=args.min_jobs, min_gpu_jobs=args.min_gpu_jobs, expect_cpu_beside_gpu=args.expect_cpu_beside_gpu
    )
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        print(f"OK: {len(jobs)} jobs went through SLURM ({sum(j['gpu'] for j in jobs)} GPU jobs, never overlapping)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
