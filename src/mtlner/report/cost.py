"""What a run cost, and what the paper's full grid would cost on the same device.

From the files a run already wrote: every job's ``metrics.json`` (seconds per epoch for
training and dev evaluation, checkpoint seconds where recorded, windows kept) and every task's
window statistics (``results/windows/<key>/<task>/stats.json``: subwords per split).

- ``cost``: device-hours by job kind (and ablation level), with the shares of training, dev
  evaluation and checkpoint writing; CRF-head jobs (issue 21) are kinds of their own
  (``stl_crf``, ``mtl_crf``, ...), so the paper's kinds keep their rows and the ``all`` row
  counts every job.
- ``cost_projection``: the paper's design (STL and MTL at every ablation level, MTL without
  each entity type, STL fine-tuned from it at every level) for a list of tasks, priced with the
  training and evaluation throughput measured in this run (subwords per second, linear-head STL
  jobs with no data removed). A task's training subwords come from its windows when it ran, else from the
  paper's Table 1 (training mentions times the subwords per mention measured here): those rows
  say ``estimated``. A task neither way sized is not priced, and the total row says which and
  why; with none sized (own corpora, ``paper_dir: ""``) that row is the whole table.

The throughput is this run's device and encoder: a projection for another encoder or device
needs a run there (or ``--scale``, e.g. the ratio of parameter counts, which the table labels).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mtlner.errors import UserError
from mtlner.report.io import job_kind


def load_window_stats(paths) -> dict[str, dict]:
    """Task name (the folder) -> {split: {windows, subwords, ...}} from windows stats.json files."""
    out = {}
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"cannot read window statistics {path}: {err}", hint="rerun the 'windows' rule") from err
        out[path.parent.name] = data
    return out


def job_costs(metrics_paths, window_stats: dict[str, dict]) -> pd.DataFrame:
    """One row per training job: seconds by phase and the subwords it trained on."""
    rows = []
    for path in metrics_paths:
        path = Path(path)
        data = json.loads(path.read_text())
        history = data.get("history", [])
        train_s = sum(h.get("train_seconds", 0.0) for h in history)
        eval_s = sum(h.get("eval_seconds", 0.0) for h in history)
        trained = evaluated = 0.0
        for task, result in data["tasks"].items():
            stats = window_stats.get(task, {})
            kept = result["train_windows"] / max(1, result["train_windows_total"])
            trained += stats.get("train", {}).get("subwords", 0) * kept * len(history)
            evaluated += stats.get("dev", {}).get("subwords", 0) * len(history)
        rows.append(
            {
                # a CRF job is its own row (stl_crf, ...): its cost per epoch beside the linear head's
                "kind": job_kind(data),
                "without": data.get("without") or "",
                "ablation": float(data["ablation"]),
                "seed": int(data["seed"]),
                "tasks": len(data["tasks"]),
                "task": next(iter(data["tasks"])) if len(data["tasks"]) == 1 else "",
                "device": data.get("device", ""),
                "epochs": len(history),
                "train_seconds": train_s,
                "eval_seconds": eval_s,
                "checkpoint_seconds": float(data.get("checkpoint_seconds", 0.0) or 0.0),
                "total_seconds": float(data.get("train_seconds", train_s + eval_s)),
                "train_subwords": trained,
                "dev_subwords": evaluated,
            }
        )
    if not rows:
        raise UserError("no metrics files given", hint="run the training jobs first")
    return pd.DataFrame(rows)


def cost_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Device-hours by job kind and ablation level, with phase shares, plus an ``all`` row."""
    groups = list(jobs.groupby(["kind", "ablation"], sort=True)) + [(("all", float("nan")), jobs)]
    rows = []
    for (kind, ablation), sub in groups:
        total = sub["total_seconds"].sum()
        rows.append(
            {
                "kind": kind,
                "ablation": ablation,
                "jobs": len(sub),
                "device_hours": total / 3600,
                "train_share": sub["train_seconds"].sum() / total if total else 0.0,
                "eval_share": sub["eval_seconds"].sum() / total if total else 0.0,
                "checkpoint_share": sub["checkpoint_seconds"].sum() / total if total else 0.0,
                "train_subwords_per_second": sub["train_subwords"].sum() / max(sub["train_seconds"].sum(), 1e-9),
            }
        )
    return pd.DataFrame(rows)


def throughput(jobs: pd.DataFrame) -> dict[str, float]:
    """Subwords per second for training and for dev evaluation, from STL jobs (all data) when
    there are any, else from every job."""
    sub = jobs[(jobs["kind"] == "stl") & (jobs["ablation"] == 0)]
    sub = sub if len(sub) else jobs
    train = sub["train_subwords"].sum() / max(sub["train_seconds"].sum(), 1e-9)
    dev = sub["dev_subwords"].sum() / max(sub["eval_seconds"].sum(), 1e-9)
    overhead = sub["checkpoint_seconds"].sum() / max(sub["train_seconds"].sum(), 1e-9)
    return {"train": train, "dev": dev, "checkpoint_overhead": overhead}


def grid_subwords(tasks: dict[str, dict], ablations: list[float]) -> dict[str, float]:
    """Training subword-epochs (per epoch) of each job kind of the paper's design, summed.

    ``tasks``: name -> {"entity", "train", "dev"} subwords. STL and MTL run at every level;
    MTL without each type (no data removed) then STL from it on each task of the type."""
    keep = sum(1.0 - a for a in ablations)
    total_train = sum(t["train"] for t in tasks.values())
    total_dev = sum(t["dev"] for t in tasks.values())
    entities = sorted({t["entity"] for t in tasks.values()})
    without_train = sum(total_train - sum(t["train"] for t in tasks.values() if t["entity"] == e) for e in entities)
    without_dev = sum(total_dev - sum(t["dev"] for t in tasks.values() if t["entity"] == e) for e in entities)
    n = len(ablations)
    return {
        "stl_train": total_train * keep, "stl_dev": total_dev * n,
        "mtl_train": total_train * keep, "mtl_dev": total_dev * n,
        "mtl_without_train": without_train, "mtl_without_dev": without_dev,
        "stl_from_mtl_train": total_train * keep, "stl_from_mtl_dev": total_dev * n,
    }  # fmt: skip


def _unpriced_notes(unpriced: dict[str, str]) -> list[str]:
    """'N not priced (a, b): why' per reason, for the projection's total row."""
    by_reason: dict[str, list[str]] = {}
    for task, why in unpriced.items():
        by_reason.setdefault(why, []).append(task)
    return [f"{len(tasks)} not priced ({', '.join(tasks)}): {why}" for why, tasks in by_reason.items()]


def projection(
    jobs: pd.DataFrame,
    window_stats: dict[str, dict],
    grid_tasks: dict[str, dict],
    paper_table1: pd.DataFrame | None,
    epochs: int,
    ablations: list[float],
    scale: float = 1.0,
) -> pd.DataFrame:
    """Device-hours of the paper's design for ``grid_tasks`` (name -> {entity, dataset}) on
    this run's device, ``epochs`` epochs; ``scale`` multiplies every second (another encoder)."""
    rate = throughput(jobs)
    measured = {t: s for t, s in window_stats.items() if "train" in s}
    per_mention = []
    for task, stats in measured.items():
        mentions = stats.get("train_mentions")
        if mentions:
            per_mention.append(stats["train"]["subwords"] / mentions)
    rows, sizes, unpriced = [], {}, {}
    for task, spec in grid_tasks.items():
        if task in measured:
            stats = measured[task]
            sizes[task] = {
                "entity": spec["entity"],
                "train": stats["train"]["subwords"],
                "dev": stats["dev"]["subwords"],
            }
            source = "measured"
        else:
            if paper_table1 is None:
                unpriced[task] = "not run here, and no paper_dir to size it from"
                continue
            if not per_mention:
                unpriced[task] = "not run here, and no training mentions measured here to scale the paper's counts"
                continue
            dataset = str(spec.get("dataset", task)).upper()
            match = paper_table1[
                (paper_table1["entity"] == spec["entity"]) & (paper_table1["dataset"].str.upper() == dataset)
            ]
            if match.empty:
                unpriced[task] = "not run here, and not in the paper's Table 1"
                continue
            ratio = sorted(per_mention)[len(per_mention) // 2]
            train = float(match["total_train"].iloc[0]) * ratio
            dev = float(match["total_dev"].iloc[0]) * ratio
            sizes[task] = {"entity": spec["entity"], "train": train, "dev": dev}
            source = "estimated"
        rows.append({"task": task, "entity": spec["entity"], "train_subwords": sizes[task]["train"], "source": source})
    kinds = ("stl", "mtl", "mtl_without", "stl_from_mtl")
    if not sizes:
        # a line that says why, not a failure: the default target still finishes (own corpora,
        # paper_dir "")
        why = "; ".join(_unpriced_notes(unpriced)) or "not priced: the grid has no task"
        total = {"task": "all", "entity": "", "train_subwords": float("nan"), "source": why}
        total |= {f"hours_{k}": float("nan") for k in kinds} | {"hours_total": float("nan")}
        return pd.DataFrame([total])
    grid = grid_subwords(sizes, ablations)
    hours = {}
    for kind in kinds:
        seconds = epochs * (
            grid[f"{kind}_train"] / rate["train"] * (1 + rate["checkpoint_overhead"])
            + grid[f"{kind}_dev"] / rate["dev"]
        )
        hours[kind] = seconds * scale / 3600
    summary = pd.DataFrame(rows)
    for kind, value in hours.items():
        summary[f"hours_{kind}"] = float("nan")
    total = {
        "task": "all",
        "entity": "",
        "train_subwords": summary["train_subwords"].sum(),
        "source": "; ".join([f"{(summary['source'] == 'estimated').sum()} estimated", *_unpriced_notes(unpriced)]),
    }
    total |= {f"hours_{k}": v for k, v in hours.items()}
    total["hours_total"] = sum(hours.values())
    return pd.concat([summary, pd.DataFrame([total])], ignore_index=True)


def write_cost_tables(
    metrics_paths, window_stats, corpus_stats, grid_config, out_dir, paper_dir=None, epochs=None, scale=1.0
) -> None:
    """``cost`` and ``cost_projection`` (CSV + Markdown) in ``out_dir`` (``mtlner cost``): this
    run's jobs, and the design in ``grid_config`` at this run's throughput; ``corpus_stats`` add
    each task's training mentions, ``paper_dir`` the paper's Table 1 for tasks that did not run."""
    import yaml

    from mtlner.report.io import write_table

    stats = load_window_stats(window_stats)
    for path in corpus_stats:
        corpus = json.loads(Path(path).read_text())
        if corpus["task"] in stats:
            stats[corpus["task"]]["train_mentions"] = corpus["splits"]["train"]["mentions"]
    jobs = job_costs(metrics_paths, stats)
    grid = yaml.safe_load(Path(grid_config).read_text())
    paper = None
    if paper_dir:
        table1 = Path(paper_dir) / "table1_mentions.csv"
        try:
            paper = pd.read_csv(table1)
        except (OSError, ValueError) as err:
            raise UserError(
                f"cannot read the paper's Table 1 {table1}: {err}", hint="set paper_dir to resources/paper or to ''"
            ) from err
    epochs = epochs or int(grid.get("training", {}).get("epochs", 20))
    levels = [float(a) for a in grid.get("ablation_levels", [0.0, 0.25, 0.5, 0.75, 0.9])]
    tables = {
        "cost": (
            cost_table(jobs),
            "Cost of this run: device-hours by job kind and ablation level, with the shares of "
            "training, dev evaluation and checkpoint writing",
        ),
        "cost_projection": (
            projection(jobs, stats, grid["tasks"], paper, epochs, levels, scale),
            f"Projected device-hours of the design in {Path(grid_config).name} ({len(grid['tasks'])} tasks, "
            f"{epochs} epochs) at this run's measured throughput (device {jobs['device'].iloc[0]}, scale "
            f"{scale:g}); estimated = size from the paper's Table 1 mentions",
        ),
    }
    for name, (frame, title) in tables.items():
        write_table(frame, Path(out_dir) / name, title)
