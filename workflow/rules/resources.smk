# Resources of training jobs, for cluster executors (sbatch --gpus/--mem/-t/--cpus-per-task)
# and for --resources limits on one machine. Kept apart from the rules so cluster policy can
# change without touching them.
#
# Every training job asks for what *it* needs, computed by mtlner.run.sizing from the subword count
# of the job's training data (results/windows/<key>/<task>/stats.json, or an estimate from the
# corpus before the windows exist), the number of epochs and the encoder size, and grows with
# the retry attempt. This file only reads those numbers; the config keys (section `resources:`)
# and their defaults are documented in workflow/schemas/config.schema.yaml and docs/slurm.md.

import json as _json
import os as _os
from functools import lru_cache as _lru_cache

from mtlner.run import sizing as _sizing
from mtlner.errors import UserError as _UserError

RESOURCES = config["resources"]  # the schema's defaults applied (common.smk validates)
# jobs run on this machine (no cluster executor, not a job of one)
_LOCAL = getattr(workflow, "local_exec", True) and not getattr(workflow, "remote_exec", False)


def _cores():
    try:
        return workflow.cores
    except WorkflowError:  # no --cores given (a dry run)
        return None


# config threads 0: the cores Snakemake was given (it never gives a job more)
TRAIN_THREADS = _sizing.job_threads(config["threads"], _LOCAL, _cores())
_DEVICE = _sizing.device_kind(RESOURCES)
# subwords/s measured by a finished run (resources.throughput_from), else the built-in guess
_MEASURED = {}
if RESOURCES["throughput_from"]:
    try:
        _MEASURED = _sizing.measured_throughput(RESOURCES["throughput_from"])
    except _UserError as _err:
        raise WorkflowError(str(_err)) from _err


@_lru_cache(maxsize=None)
def _json_file(path, mtime):
    with open(path, encoding="utf-8") as fh:
        return _json.load(fh)


def _read_json(path):
    try:
        return _json_file(path, _os.path.getmtime(path))
    except (OSError, ValueError):
        return None


@_lru_cache(maxsize=None)
def _line_count(path, mtime):
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def task_subwords(task, split="train"):
    """Subwords in one split of a task: windows stats, else corpus stats, else the raw file."""
    stats = _read_json(f"{windows_dir(task)}/stats.json")
    if stats and split in stats:
        return int(stats[split]["subwords"])
    stats = _read_json(f"{corpus_dir(task)}/stats.json")
    if stats and split in stats.get("splits", {}):
        return int(stats["splits"][split]["tokens"] * _sizing.SUBWORDS_PER_WORD)
    try:  # one token per line in the raw CoNLL file: a fair estimate before anything ran
        path = raw_files(task)[split]
        return int(_line_count(path, _os.path.getmtime(path)) * _sizing.SUBWORDS_PER_WORD)
    except OSError:
        unknown = _sizing.UNKNOWN_TASK_SUBWORDS
        return unknown if split == "train" else unknown // 5


def _job_tasks(wildcards):
    if "task" in wildcards.keys():
        return [wildcards.task]
    if "entity" in wildcards.keys():
        return tasks_without(wildcards.entity)
    return list(TASKS)


def _keep(wildcards):
    return 1.0 - float(getattr(wildcards, "ablation", 0.0) or 0.0)


def _cross_tested(wildcards):
    """The other tasks' test splits a job tags after its own test pass (cross-corpus transfer,
    common.smk), once per head that tags them: none for MTL without a type."""
    if "task" in wildcards.keys():
        return cross_targets(wildcards.task)
    if "entity" in wildcards.keys():
        return []
    return [t for t in CROSS_TASKS for head in tasks_of(entity_of(t)) if head != t]


def _job_subwords(wildcards, training):
    """(train subwords of one epoch after ablation and upsampling, all windows loaded, dev, test);
    test includes the cross-corpus test splits."""
    tasks = _job_tasks(wildcards)
    keep = _keep(wildcards)
    train = [task_subwords(t, "train") for t in tasks]
    per_epoch = _sizing.epoch_subwords([n * keep for n in train], bool(training.get("upsample")))
    dev = sum(task_subwords(t, "dev") for t in tasks)
    test = sum(task_subwords(t, "test") for t in tasks + _cross_tested(wildcards))
    return per_epoch, sum(train) + dev + test, dev, test


def _job_kind(wildcards):
    """The job kind (metrics.json's kind) a job's measured throughput is filed under."""
    if "entity" in wildcards.keys():
        return "stl_from_mtl" if "task" in wildcards.keys() else "mtl"
    return "stl" if "task" in wildcards.keys() else "mtl"


def _rate(kind):
    measured = None
    if _MEASURED:
        try:
            measured = _sizing.measured_for(_MEASURED, kind, _DEVICE, RESOURCES["throughput_from"])
        except _UserError as err:
            raise WorkflowError(str(err)) from err
    return _sizing.throughput(RESOURCES, ENCODER, TRAIN_THREADS, measured)


_CUDA_DEVICES = _sizing.cuda_devices_visible()


def train_gpus(wildcards):
    # asked per job, not at load: Snakemake sets its executor (workflow.local_exec) only after
    # reading the Snakefile, so at load every run looks local and a cluster job from a submit
    # host without a GPU would ask for gpu=0 (SLURM then refuses its GPU step)
    local = workflow.local_exec and not workflow.remote_exec
    return _sizing.job_gpus(RESOURCES, local, _CUDA_DEVICES)


def train_runtime_for(kind=None, training=None):
    """A rule's runtime callable (minutes); kind None: told by the job's wildcards."""
    training = config["training"] if training is None else training

    def runtime(wildcards, attempt):
        per_epoch, _, dev, test = _job_subwords(wildcards, training)
        epochs = int(training.get("epochs", 20))
        rate = _rate(kind or _job_kind(wildcards))
        return _sizing.runtime_minutes(RESOURCES, per_epoch, dev, test, epochs, rate, attempt)

    return runtime


train_runtime = train_runtime_for()


def train_mem_mb(wildcards, attempt):
    _, loaded, _, _ = _job_subwords(wildcards, config["training"])
    return _sizing.mem_mb(RESOURCES, loaded, _sizing.encoder_params_m(ENCODER, RESOURCES), attempt)
