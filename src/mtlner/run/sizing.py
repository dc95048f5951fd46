"""What a training job asks a cluster for: runtime, host memory, GPUs.

Plain functions of a job's own numbers (training subwords per epoch, evaluation subwords,
epochs, encoder size, retry attempt) and of the config's ``resources`` section with the
schema's defaults applied (workflow/schemas/config.schema.yaml documents every key);
``workflow/rules/resources.smk`` only reads the numbers from disk and calls these.

Throughput, the one number that decides the runtime, is a built-in guess (``GPU_SUBWORDS_PER_SECOND``
for a 110M encoder, far below what a modern GPU reaches, so a job rather asks for too much
than is killed) unless ``resources.tokens_per_second`` pins it or ``resources.throughput_from``
names a finished run whose ``metrics.json`` files measured it (:func:`measured_throughput`,
priced with the same functions as the cost table, :mod:`mtlner.report.cost`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

from mtlner.errors import UserError

REFERENCE_PARAMS_M = 110.0  # the throughput guesses are for a BERT-base-sized encoder
GPU_SUBWORDS_PER_SECOND = 2000.0  # one training job on a GPU, 110M encoder (a cautious guess)
CPU_SUBWORDS_PER_SECOND_PER_THREAD = 60.0
EVAL_SPEEDUP = 3.0  # evaluation runs forward only: about three times the training throughput
STARTUP_SECONDS = 300.0  # interpreter, torch, encoder and windows loaded, before the first step
SUBWORDS_PER_WORD = 1.4  # before the windows exist, a corpus's words are turned into subwords
UNKNOWN_TASK_SUBWORDS = 500_000  # train subwords assumed when nothing about a task is on disk yet
# encoder size guessed from its name, first match wins
_NAME_SIZES = (("large", 335), ("minilm", 22), ("distil", 66), ("tiny", 5), ("small", 30), ("base", 110))
# the job folders of a results directory, and the job kind each holds (common.smk's JOB_DIRS)
RESULT_KINDS = ("stl", "mtl", "stl_from_mtl", "baseline")


def encoder_params_m(encoder: str, resources: Mapping) -> float:
    """Encoder size in millions of parameters: ``resources.encoder_params_m``, else a guess
    from the encoder's name (large 335, minilm 22, distil 66, tiny 5, small 30, base 110)."""
    if resources.get("encoder_params_m"):
        return float(resources["encoder_params_m"])
    return guess_params_m(encoder)


def guess_params_m(encoder: str) -> float:
    name = str(encoder).lower()
    for key, size in _NAME_SIZES:
        if key in name:
            return float(size)
    return REFERENCE_PARAMS_M


def device_kind(resources: Mapping) -> str:
    """``cuda`` where training jobs get a GPU (``gpus_per_job`` > 0), else ``cpu``."""
    return "cuda" if int(resources["gpus_per_job"]) > 0 else "cpu"


def throughput(resources: Mapping, encoder: str, threads: int, measured: Mapping | None = None) -> dict[str, float]:
    """Subwords per second of one job: ``{"train", "eval", "checkpoint_overhead"}``.

    ``measured`` (one entry of :func:`measured_throughput`, for this job's kind and device)
    wins, scaled by encoder size when the measured run trained another encoder; then a pinned
    ``tokens_per_second`` (for a 110M encoder); then the built-in guess (GPU, or per CPU thread)."""
    params = encoder_params_m(encoder, resources)
    if measured:
        scale = 1.0 if measured.get("encoder") == encoder else guess_params_m(measured.get("encoder", encoder)) / params
        return {
            "train": measured["train"] * scale,
            "eval": measured["eval"] * scale,
            "checkpoint_overhead": measured.get("checkpoint_overhead", 0.0),
        }
    if resources.get("tokens_per_second"):
        base = float(resources["tokens_per_second"])
    elif device_kind(resources) == "cuda":
        base = GPU_SUBWORDS_PER_SECOND
    else:
        base = CPU_SUBWORDS_PER_SECOND_PER_THREAD * max(1, int(threads))
    train = base * REFERENCE_PARAMS_M / params
    return {"train": train, "eval": train * EVAL_SPEEDUP, "checkpoint_overhead": 0.0}


def epoch_subwords(train_subwords: list[float], upsample: bool) -> float:
    """Training subwords of one epoch: the tasks' sum, or with upsampling (MTL) every task
    cycled up to the largest one."""
    if not train_subwords:
        return 0.0
    return len(train_subwords) * max(train_subwords) if upsample else float(sum(train_subwords))


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def runtime_minutes(
    resources: Mapping,
    train_subwords: float,
    dev_subwords: float,
    test_subwords: float,
    epochs: int,
    rate: Mapping[str, float],
    attempt: int = 1,
) -> int:
    """Minutes: start-up + epochs x (training + dev evaluation) + test, times
    ``runtime_safety``, clamped to [runtime_min, runtime_max], times the attempt.
    ``resources.runtime`` pins it (still times the attempt)."""
    if resources.get("runtime"):
        return int(resources["runtime"]) * attempt
    train_s = train_subwords / rate["train"] * (1.0 + rate.get("checkpoint_overhead", 0.0))
    seconds = STARTUP_SECONDS + epochs * (train_s + dev_subwords / rate["eval"]) + test_subwords / rate["eval"]
    minutes = math.ceil(seconds / 60 * float(resources["runtime_safety"]))
    return int(_clamp(minutes, int(resources["runtime_min"]), int(resources["runtime_max"]))) * attempt


def mem_mb(resources: Mapping, loaded_subwords: float, params_m: float, attempt: int = 1) -> int:
    """Host memory in MB: Python + torch (3 GB), the encoder with its optimiser state (16 bytes
    a parameter) and every window the job loads (~120 bytes a subword as Python lists), plus 20 %,
    rounded up to 500 MB, clamped to [mem_mb_min, mem_mb_max], times the attempt.
    ``resources.mem_mb`` pins it (still times the attempt)."""
    if resources.get("mem_mb"):
        return int(resources["mem_mb"]) * attempt
    mb = 3000 + 16 * params_m + loaded_subwords * 120 / 1e6
    mb = 500 * math.ceil(mb * 1.2 / 500)
    return int(_clamp(mb, int(resources["mem_mb_min"]), int(resources["mem_mb_max"]))) * attempt


def gpus(resources: Mapping) -> int:
    return int(resources["gpus_per_job"])


def cuda_devices_visible(env: Mapping | None = None, root: str | Path = "/") -> bool:
    """Whether this machine shows a GPU to its jobs, without importing torch (the Snakefile
    asks at load time): an NVIDIA or ROCm device node, and CUDA_VISIBLE_DEVICES not hiding them."""
    env = os.environ if env is None else env
    if env.get("CUDA_VISIBLE_DEVICES", "x").strip() in ("", "-1"):
        return False
    root = Path(root)
    return bool(
        list(root.glob("dev/nvidia[0-9]*"))
        or list(root.glob("proc/driver/nvidia/gpus/*"))
        or (root / "dev/kfd").exists()
    )


def job_gpus(resources: Mapping, local: bool, devices: bool) -> int:
    """GPUs a training job asks for: ``gpus_per_job``, but none on a local run of a machine
    with no GPU (its jobs train on the CPU; asking for one would only let `--resources gpu=N`
    hold CPU jobs back). A cluster job asks for what the config says wherever Snakemake runs."""
    return 0 if local and not devices else gpus(resources)


def job_threads(threads: int, local: bool, cores: int | None) -> int:
    """A training job's threads: the config's ``threads``, or with 0 the cores Snakemake was
    given on a local run (it runs as many such jobs at once as fit), 1 on a cluster."""
    if threads > 0:
        return threads
    return max(1, int(cores)) if local and cores else 1


def gpu_share(resources: Mapping) -> int:
    """STL jobs per GPU (at least 1)."""
    return max(1, int(resources["gpu_share"]))


def gpu_run(resources: Mapping, kind: str, launcher: str) -> str:
    """Command prefix that gives a training job its own GPU on a workstation.

    ``launcher``: how to start ``mtlner.run.gpu_slots`` (``<python> -m mtlner.run.gpu_slots``),
    which locks a free device and sets CUDA_VISIBLE_DEVICES for the job (inside a SLURM job it
    leaves SLURM's choice alone; without GPUs it does nothing). STL jobs share a GPU with up to
    ``gpu_share - 1`` others; MTL jobs take a whole one."""
    if gpus(resources) <= 0:
        return ""
    mode = f"--share {gpu_share(resources)}" + ("" if kind == "stl" else " --exclusive")
    return f"{launcher} {mode} --"


# --------------------------------------------------------------------------- calibration


def _normalise_device(device: str) -> str:
    return str(device or "").split(":")[0] or "cpu"


def _window_stats_of(job: dict, candidates: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """The window statistics a job trained on: the cache whose train window count is the
    job's ``train_windows_total`` for every task (a run may hold several, e.g. the baseline's
    sentence windows), else the first that has all its tasks."""
    tasks = job.get("tasks", {})
    complete = [s for s in candidates.values() if all(t in s and "train" in s[t] for t in tasks)]
    for stats in complete:
        if all(stats[t]["train"].get("windows") == r.get("train_windows_total") for t, r in tasks.items()):
            return stats
    return complete[0] if complete else {}


def measured_throughput(results_dir: str | Path) -> dict[tuple[str, str], dict]:
    """Subwords per second measured by a finished run: ``(kind, device) -> {"train", "eval",
    "checkpoint_overhead", "encoder", "jobs"}``, plus ``("*", device)``: every kind on that
    device together (the fallback for a kind the run did not train).

    ``results_dir``: a run's ``results/`` folder, holding ``<kind>/.../metrics.json`` and the
    window statistics ``windows/<key>/<task>/stats.json`` that say how many subwords each job
    trained on. Seconds and subwords come from :func:`mtlner.report.cost.job_costs` and the rates from
    :func:`mtlner.report.cost.throughput`, as in the run's cost table."""
    import pandas as pd

    from mtlner.report import cost

    root = Path(results_dir)
    metrics = sorted(p for kind in RESULT_KINDS for p in (root / kind).rglob("metrics.json"))
    if not metrics:
        raise UserError(
            f"resources.throughput_from: {root} holds no metrics.json (looked in {', '.join(f'{k}/' for k in RESULT_KINDS)})",
            hint="point it at the results/ folder of a finished run, or remove the key to use the built-in guess",
        )
    windows: dict[str, dict[str, dict]] = {}
    for path in sorted(root.glob("windows/*/*/stats.json")):
        windows.setdefault(path.parent.parent.name, {}).update(cost.load_window_stats([path]))
    frames, encoders = [], {}
    for path in metrics:
        try:
            job = json.loads(path.read_text())
            frames.append(cost.job_costs([path], _window_stats_of(job, windows)))
        except (OSError, ValueError, KeyError) as err:
            raise UserError(f"resources.throughput_from: cannot read {path}: {err}") from err
        if job.get("kind") in ("stl", "mtl", "baseline"):
            encoders.setdefault(_normalise_device(job.get("device")), job.get("init"))
    jobs = pd.concat(frames, ignore_index=True)
    jobs["device"] = jobs["device"].map(_normalise_device)
    jobs = jobs[(jobs["train_subwords"] > 0) & (jobs["train_seconds"] > 0) & (jobs["eval_seconds"] > 0)]
    if jobs.empty:
        raise UserError(
            f"resources.throughput_from: no job in {root} can be priced: no window statistics "
            f"({root}/windows/<key>/<task>/stats.json) match its metrics.json files",
            hint="copy the run's windows/*/*/stats.json beside its metrics, or remove the key",
        )
    out = {}
    groups = [((k, d), sub) for (k, d), sub in jobs.groupby(["kind", "device"])]
    groups += [(("*", d), sub) for d, sub in jobs.groupby("device")]
    for key, sub in groups:
        rate = cost.throughput(sub)
        out[key] = {
            "train": float(rate["train"]),
            "eval": float(rate["dev"]),
            "checkpoint_overhead": float(rate["checkpoint_overhead"]),
            "encoder": encoders.get(key[1]),
            "jobs": int(len(sub)),
        }
    return out


def measured_for(measurements: Mapping, kind: str, device: str, source: str = "") -> dict:
    """The measurement for a job kind on a device: that kind's, else every kind's on the
    device; an error naming ``source`` when the run never trained on this device."""
    rate = measurements.get((kind, device)) or measurements.get(("*", device))
    if rate is None:
        found = sorted({d for _, d in measurements})
        raise UserError(
            f"resources.throughput_from: {source} measured training on {', '.join(found)} only; "
            f"this config's jobs train on {device} (resources.gpus_per_job)",
            hint="point it at a run on the same kind of device, or remove the key",
        )
    return dict(rate)
