# Config validation, the experiment grid and the only place that knows the results/ layout.

import re
import sys
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml", set_default=True)

TASKS = config["tasks"]
ENTITIES = sorted({t["entity"] for t in TASKS.values()})
ABLATIONS = [str(float(a)) for a in config["ablation_levels"]]
SEEDS = [str(s) for s in config["seeds"]]
ENCODER = config["encoder"]
ENCODER_ID = config.get("encoder_id") or re.sub(r"[^A-Za-z0-9_.-]+", "_", ENCODER).strip("_")
MTL_ENTITIES = [e for e in ENTITIES if len(ENTITIES) > 1] if config["entity_ablation"] else []
PAPER_DIR = config["paper_dir"]


def _python_command():
    """The interpreter for job commands: the one running Snakemake (a venv, say), or under
    --sdm conda the environment's own python with this checkout's src/ on the path."""
    try:
        from snakemake.settings.types import DeploymentMethod

        if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
            return f"PYTHONPATH={Path(workflow.basedir) / 'src'} python -m mtlner.cli"
    except (ImportError, AttributeError):
        pass
    return f"{sys.executable} -m mtlner.cli"


PY = _python_command()


wildcard_constraints:
    task="|".join(re.escape(t) for t in TASKS),
    entity="|".join(re.escape(e) for e in ENTITIES),
    ablation=r"0\.\d+",
    seed=r"\d+",
    split="train|dev|test",


def tasks_of(entity):
    return [t for t, spec in TASKS.items() if spec["entity"] == entity]


def tasks_without(entity):
    return [t for t, spec in TASKS.items() if spec["entity"] != entity]


def raw_corpus(wildcards):
    """Where a task's split files come from: a local folder or the HUNER download/convert rules."""
    spec = TASKS[wildcards.task]
    if spec["source"] == "huner":
        folder = f"results/huner/{wildcards.task}"
    else:
        folder = f"{config['corpora_dir']}/{wildcards.task}"
    return {split: f"{folder}/{split}.tsv" for split in ("train", "dev", "test")}


def windows_dir(task):
    return f"results/windows/{ENCODER_ID}/{task}"


def window_files(tasks):
    return [f"{windows_dir(t)}/{split}.pt" for t in tasks for split in ("train", "dev", "test")]


def task_args(tasks):
    return " ".join(f"--task {t}={TASKS[t]['entity']}={windows_dir(t)}" for t in tasks)


def training_args():
    """Flags for 'mtlner train' from the config's training section (defaults live in TrainConfig)."""
    args = []
    for key, value in config["training"].items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            args.append(f"{flag} {value}")
    return " ".join(args)


def stl_metrics():
    return expand("results/stl/{task}/ablation_{ablation}/seed_{seed}/metrics.json", task=TASKS, ablation=ABLATIONS, seed=SEEDS)


def mtl_metrics():
    return expand("results/mtl/all/ablation_{ablation}/seed_{seed}/metrics.json", ablation=ABLATIONS, seed=SEEDS)


def entity_ablation_metrics():
    files = expand("results/mtl/without_{entity}/seed_{seed}/metrics.json", entity=MTL_ENTITIES, seed=SEEDS)
    for entity in MTL_ENTITIES:
        files += expand(
            "results/stl_from_mtl/without_{entity}/{task}/ablation_{ablation}/seed_{seed}/metrics.json",
            entity=entity,
            task=tasks_of(entity),
            ablation=ABLATIONS,
            seed=SEEDS,
        )
    return files


def all_metrics():
    return stl_metrics() + mtl_metrics() + entity_ablation_metrics()


def corpus_stats():
    return expand("results/corpora/{task}/stats.json", task=TASKS)
