"""`mtlner leaks warn -- COMMAND` as an MTL job runs it: the warnings and the wrapped command's
output in one job log (the audit itself: tests/unit/test_leaks.py)."""

import subprocess
import sys

import pytest

from tests.helpers.leaks import leak_corpora, leak_targets


@pytest.fixture
def corpora(tmp_path):
    return leak_corpora(tmp_path)


@pytest.fixture
def targets(tmp_path, corpora):
    return leak_targets(tmp_path)


def test_warn_then_runs_the_command_with_its_output_in_the_same_log(corpora, tmp_path):
    script = "import os, sys; print('training with', os.environ['MARK'], file=sys.stderr)"
    specs = [arg for task, folder in corpora.items() for arg in ("--corpus", f"{task}={folder}")]
    log = tmp_path / "job.log"
    with log.open("w") as stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "mtlner.cli", "leaks", "warn", *specs, "--", "MARK=here", sys.executable, "-c", script],
            stderr=stderr, timeout=120,
        )  # fmt: skip
    text = log.read_text()
    assert proc.returncode == 0, text
    assert text.index("leak in this job's tasks") < text.index("training with here")


def test_warn_in_a_job_log_names_the_targets_it_is_given(corpora, targets, tmp_path):
    specs = [arg for task, folder in corpora.items() for arg in ("--corpus", f"{task}={folder}")]
    specs += [arg for name, folder in targets.items() for arg in ("--target", f"{name}={folder}")]
    script = "import sys; print('training', sys.argv[1:], file=sys.stderr)"
    # the wrapped command's own --cross-test words are not read: the targets are the --target flags
    job = [sys.executable, "-c", script, "--cross-test", "unlisted=gene=w/unlisted/test.pt"]
    log = tmp_path / "job.log"
    with log.open("w") as stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "mtlner.cli", "leaks", "warn", *specs, "--", *job], stderr=stderr, timeout=120
        )
    text = log.read_text()
    assert proc.returncode == 0, text
    assert text.count("leak into a cross-corpus target this job scores") == 2 and "target gene_eval" in text
    assert "target species_eval" not in text and "unlisted" not in text[: text.index("training [")]
    assert text.index("leak into a cross-corpus target") < text.index("training ['--cross-test'")
