"""Snakemake in a subprocess on this checkout's Snakefile, and a tiny config on the demo corpora."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import DEMO_CORPORA, ROOT


def snakemake(
    workdir: Path, *args: str, config: Path | None = None, check: bool = True, quiet: bool = True
) -> subprocess.CompletedProcess:
    """``quiet``: no per-job blocks (``--quiet rules``); off to read the commands ``-p`` prints."""
    # targets and options first: --quiet and --configfile take several values and would swallow them
    cmd = [sys.executable, "-m", "snakemake", *args, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2"]
    if config:
        cmd += ["--configfile", str(config)]
    proc = subprocess.run(cmd + (["--quiet", "rules"] if quiet else []), capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def tiny_config(tmp_path: Path, **overrides) -> Path:
    config = {
        "encoder": "packaged:minilm",
        "encoder_id": "minilm",
        "max_length": 64,
        "corpora_dir": str(DEMO_CORPORA),
        "paper_dir": str(ROOT / "resources" / "paper"),
        "ablation_levels": [0.0, 0.5],
        "seeds": [1],
        "training": {"epochs": 1, "lr": 2e-4, "max_tokens": 512, "progress": False, "checkpoint": False},
        "tasks": {
            "gene_demo_a": {"entity": "gene", "dataset": "DemoGeneA"},
            "species_demo": {"entity": "species", "dataset": "DemoSpecies"},
        },
    }
    config.update(overrides)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
