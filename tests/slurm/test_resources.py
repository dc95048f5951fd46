"""workflow/rules/resources.smk and the profiles, through `snakemake -n` (no SLURM needed).

Each training job's runtime and memory follow its own data: a bigger task, more epochs, a
bigger encoder or less ablation ask for more; preprocessing and reports ask for no GPU.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAIN_RULES = {"train_stl", "train_mtl", "train_mtl_saved", "train_mtl_without", "train_stl_from_mtl"}


def make_corpora(base: Path, sizes: dict[str, int]) -> Path:
    """Raw CoNLL files of the given token counts (only their size matters for a dry run)."""
    for task, tokens in sizes.items():
        for split, n in (("train", tokens), ("dev", tokens // 5), ("test", tokens // 5)):
            path = base / task / f"{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("word\tO\n" * n)
    return base


def dry_run(tmp_path: Path, config: dict, *args: str) -> dict[tuple, dict]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path / "wd"),
         "--configfile", str(cfg), "-n", *args],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", proc.stdout):
        m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if not m:
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        resources = dict(kv.split("=", 1) for kv in res.group(1).split(", ")) if res else {}
        jobs[(m.group(1), wc.group(1) if wc else "")] = resources
    assert jobs, proc.stdout[-2000:]
    return jobs


def base_config(corpora: Path, **overrides) -> dict:
    config = {
        "encoder": "dmis-lab/biobert-base-cased-v1.1",
        "encoder_id": "biobert",
        "max_length": 512,
        "corpora_dir": str(corpora),
        "paper_dir": "",
        "ablation_levels": [0.0, 0.9],
        "seeds": [1],
        "entity_ablation": True,
        "threads": 4,
        "training": {"epochs": 20},
        "tasks": {"small": {"entity": "gene"}, "big": {"entity": "gene"}, "chem": {"entity": "chemical"}},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    return make_corpora(tmp_path_factory.mktemp("corpora"), {"small": 20_000, "big": 400_000, "chem": 100_000})


def get(jobs, rule, wildcards):
    return jobs[(rule, wildcards)]


def test_training_resources_scale_with_the_job(tmp_path, corpora):
    jobs = dry_run(tmp_path, base_config(corpora))
    rt = lambda rule, wc: int(get(jobs, rule, wc)["runtime"])  # noqa: E731
    mem = lambda rule, wc: int(get(jobs, rule, wc)["mem_mb"])  # noqa: E731
    small0 = rt("train_stl", "task=small, ablation=0.0, seed=1")
    big0 = rt("train_stl", "task=big, ablation=0.0, seed=1")
    big9 = rt("train_stl", "task=big, ablation=0.9, seed=1")
    mtl0 = rt("train_mtl_saved", "seed=1")  # the MTL job with no data removed keeps its model
    assert small0 < big0 and big9 < big0 and mtl0 > big0
    # MTL without gene trains on chem only: as long as STL on chem
    assert rt("train_mtl_without", "entity=gene, seed=1") == rt("train_stl", "task=chem, ablation=0.0, seed=1")
    assert mem("train_mtl", "ablation=0.9, seed=1") >= mem("train_stl", "task=small, ablation=0.0, seed=1") >= 4000
    for (rule, _), res in jobs.items():
        if rule in TRAIN_RULES:
            assert res["gpu"] == "1", (rule, res)
        else:
            assert "gpu" not in res, (rule, res)


def load_resources(config: dict, corpora: Path, workdir: Path) -> dict:
    """Execute resources.smk (plain Python: functions only) with the names common.smk gives it."""
    tasks = config["tasks"]
    ns = {
        "config": config,
        "TASKS": tasks,
        "PY": f"{sys.executable} -m mtlner.cli",
        "windows_dir": lambda t: str(workdir / "results" / "windows" / "enc" / t),
        "raw_corpus": lambda w: {s: str(corpora / w.task / f"{s}.tsv") for s in ("train", "dev", "test")},
        "tasks_without": lambda e: [t for t, spec in tasks.items() if spec["entity"] != e],
    }
    exec(compile((ROOT / "workflow" / "rules" / "resources.smk").read_text(), "resources.smk", "exec"), ns)
    return ns


class WC(dict):
    __getattr__ = dict.__getitem__


def test_encoder_size_epochs_and_attempt_scale_runtime(tmp_path, corpora):
    big = WC(task="big", ablation="0.0", seed="1")
    base = load_resources(base_config(corpora), corpora, tmp_path)
    large = load_resources(base_config(corpora, encoder="some/bert-large-cased"), corpora, tmp_path)
    fewer = load_resources(base_config(corpora, training={"epochs": 5}), corpora, tmp_path)
    assert large["train_runtime"](big, 1) > 2 * base["train_runtime"](big, 1)
    assert fewer["train_runtime"](big, 1) < base["train_runtime"](big, 1) / 2
    assert base["train_runtime"](big, 2) == 2 * base["train_runtime"](big, 1)
    assert base["train_mem_mb"](big, 2) == 2 * base["train_mem_mb"](big, 1)
    assert large["train_mem_mb"](big, 1) > base["train_mem_mb"](big, 1)


def test_windows_stats_replace_the_corpus_estimate(tmp_path, corpora):
    big = WC(task="big", ablation="0.0", seed="1")
    ns = load_resources(base_config(corpora), corpora, tmp_path)
    before = ns["train_runtime"](big, 1)
    stats = Path(ns["windows_dir"]("big")) / "stats.json"
    stats.parent.mkdir(parents=True)
    counts = {"windows": 1, "words": 1, "max_subwords": 1}
    stats.write_text(json.dumps({s: {"subwords": n, **counts} for s, n in (("train", 5_000_000), ("dev", 1000), ("test", 1000))}))
    assert ns["task_subwords"]("big") == 5_000_000
    assert ns["train_runtime"](big, 1) > 5 * before


def test_pinned_values_and_cpu_cluster(tmp_path, corpora):
    big = WC(task="big", ablation="0.0", seed="1")
    ns = load_resources(base_config(corpora, resources={"gpus_per_job": 0, "runtime": 99, "mem_mb": 12345}), corpora, tmp_path)
    assert (ns["train_runtime"](big, 1), ns["train_mem_mb"](big, 1), ns["train_gpus"](big)) == (99, 12345, 0)
    assert ns["GPU_RUN_STL"] == "" and ns["GPU_RUN_MTL"] == ""


def test_gpu_run_prefixes(tmp_path, corpora):
    ns = load_resources(base_config(corpora, resources={"gpu_share": 3}), corpora, tmp_path)
    assert ns["GPU_RUN_STL"].endswith("-m mtlner.gpu_slots --share 3 --")
    assert ns["GPU_RUN_MTL"].endswith("-m mtlner.gpu_slots --share 3 --exclusive --")


def test_slurm_profile_dry_run_shows_sbatch_resources(tmp_path, corpora):
    jobs = dry_run(tmp_path, base_config(corpora), "--profile", str(ROOT / "profiles" / "slurm"))
    res = jobs[("train_stl", "task=big, ablation=0.0, seed=1")]
    assert {"gpu", "mem_mb", "runtime"} <= set(res)
    prep = next(r for (rule, _), r in jobs.items() if rule == "prepare_corpus")
    assert prep["mem_mb"] == "4000" and prep["runtime"] == "30" and "gpu" not in prep


def test_local_gpu_profile_dry_run(tmp_path, corpora):
    dry_run(tmp_path, base_config(corpora), "--profile", str(ROOT / "profiles" / "local-gpu"), "--resources", "gpu=2")


@pytest.mark.skipif("GPU_RUN_" not in (ROOT / "workflow" / "rules" / "train.smk").read_text(),
                    reason="train.smk does not start training through {GPU_RUN_STL}/{GPU_RUN_MTL} yet")
def test_training_commands_go_through_gpu_slots(tmp_path, corpora):
    config = base_config(corpora, resources={"gpu_share": 2})
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path / "wd"),
         "--configfile", str(cfg), "-n", "-p", "--profile", str(ROOT / "profiles" / "local-gpu"), "--resources", "gpu=4"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    commands = [line for line in proc.stdout.splitlines() if " train --kind " in line]
    assert commands
    for line in commands:
        kind = re.search(r" train --kind (\w+)", line).group(1)
        wrapper = "-m mtlner.gpu_slots --share 2 --" if kind != "mtl" else "-m mtlner.gpu_slots --share 2 --exclusive --"
        assert wrapper in line.split(" train --kind ")[0], line
