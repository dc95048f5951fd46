"""The lock-file GPU allocator: each job gets its own device, locks die with the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import mtlner
from mtlner.run.gpu_slots import acquire, detect_devices, try_acquire

SRC = str(Path(mtlner.__file__).resolve().parents[1])


def _env(lock_dir, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") and k != "CUDA_VISIBLE_DEVICES"}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["MTLNER_GPU_LOCK_DIR"] = str(lock_dir)
    env.update(extra)
    return env


def _cli(*args):
    return [sys.executable, "-m", "mtlner.run.gpu_slots", *args]


def test_detect_devices_order():
    assert detect_devices({"MTLNER_GPU_DEVICES": "2,3", "CUDA_VISIBLE_DEVICES": "0"}) == ["2", "3"]
    assert detect_devices({"CUDA_VISIBLE_DEVICES": "0, 1"}) == ["0", "1"]
    assert detect_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert detect_devices({"CUDA_VISIBLE_DEVICES": "-1"}) == []


def test_one_job_per_device(tmp_path):
    a = try_acquire(["0", "1"], lock_dir=tmp_path)
    b = try_acquire(["0", "1"], lock_dir=tmp_path)
    assert {a.device, b.device} == {"0", "1"}
    assert try_acquire(["0", "1"], lock_dir=tmp_path) is None
    a.release()
    c = try_acquire(["0", "1"], lock_dir=tmp_path)
    assert c.device == a.device
    b.release(), c.release()


def test_share_spreads_then_packs(tmp_path):
    allocs = [try_acquire(["0", "1"], share=2, lock_dir=tmp_path) for _ in range(4)]
    assert [a.device for a in allocs[:2]] in (["0", "1"], ["1", "0"])  # least-loaded first
    assert sorted(a.device for a in allocs) == ["0", "0", "1", "1"]
    assert try_acquire(["0", "1"], share=2, lock_dir=tmp_path) is None
    for a in allocs:
        a.release()


def test_exclusive_takes_a_whole_device(tmp_path):
    shared = try_acquire(["0", "1"], share=3, lock_dir=tmp_path)
    whole = try_acquire(["0", "1"], share=3, exclusive=True, lock_dir=tmp_path)
    assert whole.device != shared.device and whole.slots == [0, 1, 2]
    assert try_acquire(["0", "1"], share=3, exclusive=True, lock_dir=tmp_path) is None
    # the shared device still has room for shared jobs
    more = try_acquire(["0", "1"], share=3, lock_dir=tmp_path)
    assert more.device == shared.device
    for a in (shared, whole, more):
        a.release()


def test_acquire_times_out(tmp_path):
    held = try_acquire(["0"], lock_dir=tmp_path)
    with pytest.raises(TimeoutError):
        acquire(["0"], lock_dir=tmp_path, timeout=0.3, poll=0.05)
    held.release()


def test_cli_sets_device_and_env_words(tmp_path):
    out = subprocess.run(
        _cli("--devices", "5", "--", "FOO=bar", "sh", "-c", 'echo "$CUDA_VISIBLE_DEVICES $FOO $MTLNER_GPU_SLOT"'),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["5", "bar", "5:0"]


def test_cli_passthrough_inside_slurm_and_without_gpu(tmp_path):
    out = subprocess.run(
        _cli("--", "sh", "-c", 'echo "[$CUDA_VISIBLE_DEVICES]"'),
        env=_env(tmp_path, SLURM_JOB_ID="42", CUDA_VISIBLE_DEVICES="0"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[0]" and "SLURM job 42" in out.stderr
    out = subprocess.run(
        _cli("--", "sh", "-c", 'echo "[$CUDA_VISIBLE_DEVICES]"'),
        env=_env(tmp_path, CUDA_VISIBLE_DEVICES=""),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]" and "CPU" in out.stderr


def test_cli_times_out_with_tempfail(tmp_path):
    held = try_acquire(["0"], lock_dir=tmp_path)
    res = subprocess.run(
        _cli("--devices", "0", "--timeout", "0.5", "--", "true"), env=_env(tmp_path), capture_output=True, text=True
    )
    assert res.returncode == 75 and "no free GPU slot" in res.stderr
    held.release()


def test_lock_held_by_command_and_freed_by_sigkill(tmp_path):
    proc = subprocess.Popen(
        _cli("--devices", "0", "--", "sleep", "60"), env=_env(tmp_path), stderr=subprocess.PIPE, text=True
    )
    try:
        assert "GPU 0" in proc.stderr.readline()  # printed just before exec
        assert try_acquire(["0"], lock_dir=tmp_path) is None  # the exec'd sleep holds it
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    alloc = acquire(["0"], lock_dir=tmp_path, timeout=5, poll=0.05)
    alloc.release()


def test_concurrent_jobs_never_share_a_device(tmp_path):
    """6 jobs on 2 devices (as Snakemake with --resources gpu=2 would start them, or more):
    per device, the recorded [start, end] intervals never overlap."""
    log = tmp_path / "log"
    script = (
        f'echo "$CUDA_VISIBLE_DEVICES $(date +%s.%N) start" >> {log}; sleep 0.4; '
        f'echo "$CUDA_VISIBLE_DEVICES $(date +%s.%N) end" >> {log}'
    )
    procs = [
        subprocess.Popen(
            _cli("--devices", "0,1", "--", "sh", "-c", script), env=_env(tmp_path / "locks"), stderr=subprocess.DEVNULL
        )
        for _ in range(6)
    ]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    events = sorted((float(t), dev, what) for dev, t, what in (line.split() for line in log.read_text().splitlines()))
    busy: dict[str, int] = {"0": 0, "1": 0}
    for _, dev, what in events:
        busy[dev] += 1 if what == "start" else -1
        assert busy[dev] <= 1, f"two jobs on GPU {dev}"
    assert {dev for _, dev, _ in events} == {"0", "1"}
