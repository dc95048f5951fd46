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

from mtlner.run.sizing import cuda_devices_visible

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


def snakemake_dry_run(tmp_path: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    """`snakemake -n` of the workflow on ``config`` (exit status left to the caller)."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path / "wd")]
    return subprocess.run(
        [*command, "--configfile", str(cfg), "-n", *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def dry_run(tmp_path: Path, config: dict, *args: str) -> dict[tuple, dict]:
    return parse_jobs(checked(snakemake_dry_run(tmp_path, config, *args)))


def checked(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def parse_jobs(proc: subprocess.CompletedProcess) -> dict[tuple, dict]:
    """(rule, wildcards) -> resources of every job a dry run lists."""
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
    # gpus_per_job 1 (the default), but a local run on a machine without a GPU asks for none
    gpus = "1" if cuda_devices_visible() else "0"
    for (rule, _), res in jobs.items():
        if rule in TRAIN_RULES:
            assert res["gpu"] == gpus, (rule, res)
        else:
            assert "gpu" not in res, (rule, res)


def test_windows_stats_replace_the_corpus_estimate(tmp_path, corpora):
    """Once a task's windows exist, their subword count sizes its jobs (not the raw corpus)."""
    wc = "task=big, ablation=0.0, seed=1"
    jobs = dry_run(tmp_path, base_config(corpora))
    before = int(jobs[("train_stl", wc)]["runtime"])
    key = next(re.search(r"window_key=([^,]+)", w).group(1) for r, w in jobs if r == "windows" and "task=big" in w)
    stats = tmp_path / "wd" / "results" / "windows" / key / "big" / "stats.json"
    stats.parent.mkdir(parents=True)
    counts = {"windows": 1, "words": 1, "max_subwords": 1}
    splits = (("train", 5_000_000), ("dev", 1000), ("test", 1000))
    stats.write_text(json.dumps({s: {"subwords": n, **counts} for s, n in splits}))
    after = int(dry_run(tmp_path, base_config(corpora))[("train_stl", wc)]["runtime"])
    assert after > 5 * before


def test_pinned_values_and_cpu_cluster(tmp_path, corpora):
    config = base_config(corpora, resources={"gpus_per_job": 0, "runtime": 99, "mem_mb": 12345})
    proc = checked(snakemake_dry_run(tmp_path, config, "-p"))
    jobs = parse_jobs(proc)
    res = jobs[("train_stl", "task=big, ablation=0.0, seed=1")]
    assert (res["runtime"], res["mem_mb"], res["gpu"]) == ("99", "12345", "0")
    assert int(jobs[("train_mtl", "ablation=0.9, seed=1")]["runtime"]) == 99
    # no GPU: training is not started through gpu_slots
    commands = [line for line in proc.stdout.splitlines() if " train --kind " in line]
    assert commands and not any("gpu_slots" in line for line in commands)


def fake_finished_run(root: Path, subwords_per_second: float) -> Path:
    """A finished run's results/: one STL job on a GPU and the window statistics it trained on."""
    task = "big"
    stats = root / "windows" / "enc-1234" / task / "stats.json"
    stats.parent.mkdir(parents=True)
    split = {"windows": 100, "subwords": int(subwords_per_second), "words": 1, "max_subwords": 512}
    stats.write_text(json.dumps({"train": split, "dev": split, "test": split}))
    job = root / "stl" / task / "ablation_0.0" / "seed_1" / "metrics.json"
    job.parent.mkdir(parents=True)
    job.write_text(json.dumps({
        "kind": "stl", "ablation": 0.0, "seed": 1, "init": "dmis-lab/biobert-base-cased-v1.1", "device": "cuda",
        "train_seconds": 5.0, "history": [{"epoch": 1, "train_seconds": 1.0, "eval_seconds": 0.2}],
        "tasks": {task: {"entity_type": "gene", "train_windows": 100, "train_windows_total": 100}},
    }))  # fmt: skip
    return root


def test_throughput_from_a_finished_run_calibrates_the_runtime(tmp_path, corpora):
    guessed = dry_run(tmp_path, base_config(corpora))
    run = fake_finished_run(tmp_path / "finished" / "results", 260_000)
    measured = dry_run(tmp_path, base_config(corpora, resources={"throughput_from": str(run)}))
    wc = "task=big, ablation=0.0, seed=1"
    assert int(guessed[("train_stl", wc)]["runtime"]) > 60  # hours at the built-in 2,000 subwords/s
    assert int(measured[("train_stl", wc)]["runtime"]) == 10  # minutes at the measured 260,000


def test_throughput_from_without_metrics_names_the_path(tmp_path, corpora):
    empty = tmp_path / "no_run_here"
    empty.mkdir()
    proc = snakemake_dry_run(tmp_path, base_config(corpora, resources={"throughput_from": str(empty)}))
    assert proc.returncode != 0
    assert f"{empty} holds no metrics.json" in proc.stdout + proc.stderr


def test_slurm_profile_dry_run_shows_sbatch_resources(tmp_path, corpora):
    jobs = dry_run(tmp_path, base_config(corpora), "--profile", str(ROOT / "profiles" / "slurm"))
    res = jobs[("train_stl", "task=big, ablation=0.0, seed=1")]
    assert {"gpu", "mem_mb", "runtime"} <= set(res)
    prep = next(r for (rule, _), r in jobs.items() if rule == "prepare_corpus")
    assert prep["mem_mb"] == "4000" and prep["runtime"] == "30" and "gpu" not in prep


def test_local_gpu_profile_dry_run(tmp_path, corpora):
    dry_run(tmp_path, base_config(corpora), "--profile", str(ROOT / "profiles" / "local-gpu"), "--resources", "gpu=2")


def test_training_commands_go_through_gpu_slots(tmp_path, corpora):
    config = base_config(corpora, resources={"gpu_share": 2})
    proc = checked(
        snakemake_dry_run(
            tmp_path, config, "-p", "--profile", str(ROOT / "profiles" / "local-gpu"), "--resources", "gpu=4"
        )
    )
    commands = [line for line in proc.stdout.splitlines() if " train --kind " in line]
    assert commands
    for line in commands:
        kind = re.search(r" train --kind (\w+)", line).group(1)
        wrapper = (
            "-m mtlner.run.gpu_slots --share 2 --"
            if kind != "mtl"
            else "-m mtlner.run.gpu_slots --share 2 --exclusive --"
        )
        assert wrapper in line.split(" train --kind ")[0], line
