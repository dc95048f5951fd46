# Resources of training jobs, for cluster executors (sbatch --gpus/--mem/-t/--cpus-per-task)
# and for --resources limits on one machine. Kept apart from the rules so cluster policy can
# change without touching them.
#
# Every training job asks for what *it* needs: runtime and memory are computed from the
# subword count of the job's training data (results/windows/<encoder>/<task>/stats.json, or an
# estimate from the corpus before the windows exist), the number of epochs and the encoder size,
# and grow with the retry attempt. Config keys (section `resources:`, all optional):
#
#   gpus_per_job: 1          GPUs per training job; 0 on a CPU-only cluster
#   gpu_share: 1             STL jobs per GPU on a workstation (python -m mtlner.gpu_slots), or
#                            packed per SLURM job (docs/slurm.md); MTL jobs always get a whole GPU
#   encoder_params_m: auto   encoder size in millions of parameters (default: guessed from the
#                            encoder name: large 335, base 110, distil 66, minilm 22)
#   tokens_per_second: auto  training throughput of one job for a 110M encoder (default 2000 on
#                            a GPU, 60 per CPU thread); scaled by encoder size
#   runtime_safety: 1.5      margin on the estimated runtime
#   runtime_min: 10, runtime_max: 10080   minutes (clamp); runtime: N pins every job to N
#   mem_mb_min: 4000, mem_mb_max: 256000  MB (clamp);    mem_mb: N pins every job to N

import json as _json
import os as _os
import types as _types
import math as _math
from functools import lru_cache as _lru_cache

_RESOURCE_DEFAULTS = {
    "gpus_per_job": 1,
    "gpu_share": 1,
    "encoder_params_m": None,
    "tokens_per_second": None,
    "runtime_safety": 1.5,
    "runtime_min": 10,
    "runtime_max": 10080,
    "mem_mb_min": 4000,
    "mem_mb_max": 256000,
    "runtime": None,
    "mem_mb": None,
}
_UNKNOWN_TASK_TOKENS = 500_000  # train subwords assumed when nothing about a task is on disk yet
_SUBWORDS_PER_WORD = 1.4


def _res(key):
    value = (config.get("resources") or {}).get(key)
    return _RESOURCE_DEFAULTS[key] if value is None else value


def encoder_params_m():
    """Encoder size in millions of parameters (config or a guess from the encoder's name)."""
    if _res("encoder_params_m"):
        return float(_res("encoder_params_m"))
    name = str(config.get("encoder", "")).lower()
    for key, size in (("large", 335), ("minilm", 22), ("distil", 66), ("tiny", 5), ("small", 30), ("base", 110)):
        if key in name:
            return float(size)
    return 110.0


@_lru_cache(maxsize=None)
def _json_file(path, mtime):
    with open(path, encoding="utf-8") as fh:
        return _json.load(fh)


def _read_json(path):
    try:
        return _json_file(path, _os.path.getmtime(path))
    except (OSError, ValueError):
        return None


def task_subwords(task, split="train"):
    """Subwords in one split of a task: windows stats, else corpus stats, else the raw file."""
    stats = _read_json(f"{windows_dir(task)}/stats.json")
    if stats and split in stats:
        return int(stats[split]["subwords"])
    stats = _read_json(f"results/corpora/{task}/stats.json")
    if stats and split in stats.get("splits", {}):
        return int(stats["splits"][split]["tokens"] * _SUBWORDS_PER_WORD)
    try:  # one token per line in the raw CoNLL file: a fair estimate before anything ran
        path = raw_corpus(_types.SimpleNamespace(task=task))[split]
        return int(_line_count(path, _os.path.getmtime(path)) * _SUBWORDS_PER_WORD)
    except Exception:
        return _UNKNOWN_TASK_TOKENS if split == "train" else _UNKNOWN_TASK_TOKENS // 5


@_lru_cache(maxsize=None)
def _line_count(path, mtime):
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _job_tasks(wildcards):
    if "task" in wildcards.keys():
        return [wildcards.task]
    if "entity" in wildcards.keys():
        return tasks_without(wildcards.entity)
    return list(TASKS)


def _training():
    return config.get("training") or {}


def job_tokens(wildcards):
    """(train subwords per epoch after ablation and upsampling, dev + test subwords)."""
    tasks = _job_tasks(wildcards)
    keep = 1.0 - float(getattr(wildcards, "ablation", 0.0) or 0.0)
    train = [task_subwords(t, "train") * keep for t in tasks]
    per_epoch = len(train) * max(train) if _training().get("upsample") and train else sum(train)
    evaluated = sum(task_subwords(t, "dev") + task_subwords(t, "test") for t in tasks)
    return per_epoch, evaluated


def train_gpus(wildcards):
    return int(_res("gpus_per_job"))


def gpu_share():
    return max(1, int(_res("gpu_share")))


def _tokens_per_second():
    if _res("tokens_per_second"):
        base = float(_res("tokens_per_second"))
    elif int(_res("gpus_per_job")) > 0:
        base = 2000.0
    else:
        base = 60.0 * max(1, int(config.get("threads", 1)))
    return base * 110.0 / encoder_params_m()


def train_runtime(wildcards, attempt):
    """Minutes: startup + epochs x (training + dev evaluation) + test, with a margin."""
    if _res("runtime"):
        return int(_res("runtime")) * attempt
    per_epoch, evaluated = job_tokens(wildcards)
    epochs = int(_training().get("epochs", 20))
    # evaluation runs forward only (about a third of a training step); dev every epoch
    seconds = 300 + (epochs * (per_epoch + evaluated / 3) + evaluated / 3) / _tokens_per_second()
    minutes = _math.ceil(seconds / 60 * float(_res("runtime_safety")))
    minutes = min(max(minutes, int(_res("runtime_min"))), int(_res("runtime_max")))
    return minutes * attempt


def train_mem_mb(wildcards, attempt):
    """Host memory: Python + torch (3 GB), encoder with optimizer state, windows in RAM."""
    if _res("mem_mb"):
        return int(_res("mem_mb")) * attempt
    per_epoch, evaluated = job_tokens(wildcards)
    keep = 1.0 - float(getattr(wildcards, "ablation", 0.0) or 0.0)
    # all windows (before ablation) are loaded: ~120 bytes per subword as Python lists
    tokens = per_epoch / max(keep, 1e-6) + evaluated
    mb = 3000 + 16 * encoder_params_m() + tokens * 120 / 1e6
    mb = 500 * _math.ceil(mb * 1.2 / 500)
    mb = min(max(mb, int(_res("mem_mb_min"))), int(_res("mem_mb_max")))
    return mb * attempt


def gpu_run(kind):
    """Command prefix that gives a training job its own GPU on a workstation.

    ``python -m mtlner.gpu_slots`` locks a free device and sets CUDA_VISIBLE_DEVICES for the
    job (inside a SLURM job it leaves SLURM's choice alone; without GPUs it does nothing).
    STL jobs share a GPU with up to ``gpu_share - 1`` others; MTL jobs take a whole one.
    """
    if train_gpus(None) <= 0:
        return ""
    launcher = PY.replace("-m mtlner.cli", "-m mtlner.gpu_slots")
    mode = f"--share {gpu_share()}" + ("" if kind == "stl" else " --exclusive")
    return f"{launcher} {mode} --"


GPU_RUN_STL = gpu_run("stl")
GPU_RUN_MTL = gpu_run("mtl")
