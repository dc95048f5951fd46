"""benchmarks/bench_heads.py end to end on a few demo sentences: one linear and one CRF epoch."""

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT, cli_env

pytestmark = pytest.mark.slow


def test_bench_heads_times_both_heads_and_writes_the_summary(tmp_path):
    out = tmp_path / "heads.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_heads.py"), "--sentences", "12", "--repeats", "1"]
    proc = subprocess.run([*cmd, "--json", str(out)], env=cli_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert [r["head"] for r in summary["runs"]] == ["linear", "crf"]
    for run in summary["runs"]:
        assert run["train_seconds"] > 0 and run["peak_rss_mb"] > 50 and run["steps"] >= 1
    ratio = summary["crf_over_linear"]["train_seconds"]
    assert ratio == pytest.approx(
        summary["median"]["crf"]["train_seconds"] / summary["median"]["linear"]["train_seconds"]
    )
