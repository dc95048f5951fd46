"""Give each training job its own GPU on one workstation (lock-file device allocator).

Snakemake's ``--resources gpu=N`` only *counts* GPUs: it lets N GPU jobs run at once but does
not tell a job which device is its own. This helper does, so two jobs never share a GPU by
accident::

    python -m mtlner.run.gpu_slots [--share K] [--exclusive] -- COMMAND [ARGS...]

It takes a slot lock (``fcntl.flock`` on ``<lock dir>/gpu-<device>.slot-<i>.lock``), sets
``CUDA_VISIBLE_DEVICES`` to that one device and *execs* ``COMMAND`` with the lock descriptors
inherited, so the lock is held exactly as long as the command (and the children it forks)
live, and the kernel releases it however the job ends (exit, crash, ``kill -9``): no stale
locks, no cleanup step.

* ``--share K`` (the workflow's ``gpu_share`` setting): K slots per device, so up to K small
  jobs run on one GPU at once; jobs are spread over the least-loaded devices first.
  ``--exclusive`` takes all K slots of one device (an MTL job beside shared STL jobs).
* Devices: ``--devices``, else ``$MTLNER_GPU_DEVICES``, else the ``CUDA_VISIBLE_DEVICES``
  Snakemake was started with (a comma list: indices or GPU UUIDs), else ``nvidia-smi -L``.
  With no device at all the command runs unchanged (a CPU run).
* Inside a SLURM job (``$SLURM_JOB_ID`` set) SLURM already assigned the device: the command
  runs unchanged.
* When every slot is busy (Snakemake's ``--resources gpu=N`` larger than the devices, or a
  second workflow on the same machine) the job waits for one (``--timeout`` seconds, default
  forever), logging to stderr.

Leading ``NAME=value`` words of ``COMMAND`` are applied to the environment, as a shell would,
so ``PYTHONPATH=src python -m mtlner.cli train ...`` can be wrapped as it is.
The lock directory is ``$MTLNER_GPU_LOCK_DIR`` or ``/tmp/mtlner-gpu-slots-<uid>`` (one per
user: every workflow of that user on the machine shares it).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Allocation", "acquire", "detect_devices", "default_lock_dir", "main"]

_ENV_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def default_lock_dir() -> Path:
    env = os.environ.get("MTLNER_GPU_LOCK_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"mtlner-gpu-slots-{os.getuid()}"


def _split_devices(text: str) -> list[str]:
    return [d.strip() for d in text.split(",") if d.strip()]


def detect_devices(env: dict[str, str] | None = None) -> list[str]:
    """The devices this machine offers to the workflow (see module doc for the order)."""
    env = os.environ if env is None else env
    for var in ("MTLNER_GPU_DEVICES", "CUDA_VISIBLE_DEVICES"):
        if var in env:
            # an empty CUDA_VISIBLE_DEVICES means "no GPU": respect it
            return [d for d in _split_devices(env[var]) if d != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(row for row in out.splitlines() if row.startswith("GPU "))]


def _safe(device: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", device)


@dataclass
class Allocation:
    device: str
    slots: list[int]
    fds: list[int] = field(default_factory=list, repr=False)

    def release(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)  # closing the last descriptor drops the flock
            except OSError:
                pass
        self.fds = []


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _free_slots(lock_dir: Path, device: str, share: int) -> list[int]:
    """Slots of ``device`` nobody holds right now (probe: lock and unlock at once)."""
    free = []
    for i in range(share):
        fd = _try_lock(lock_dir / f"gpu-{_safe(device)}.slot-{i}.lock")
        if fd is not None:
            os.close(fd)
            free.append(i)
    return free


def try_acquire(
    devices: list[str], share: int = 1, exclusive: bool = False, lock_dir: Path | None = None
) -> Allocation | None:
    """One non-blocking attempt; None when no device has room."""
    if share < 1:
        raise ValueError(f"share must be >= 1, got {share}")
    lock_dir = default_lock_dir() if lock_dir is None else Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    # least-loaded device first, then device order: spreads shared jobs over the GPUs
    ranked = sorted(devices, key=lambda d: (-len(_free_slots(lock_dir, d, share)), devices.index(d)))
    for device in ranked:
        fds: list[int] = []
        slots: list[int] = []
        for i in range(share):
            fd = _try_lock(lock_dir / f"gpu-{_safe(device)}.slot-{i}.lock")
            if fd is None:
                if exclusive:
                    break  # an exclusive job needs every slot of the device
                continue
            fds.append(fd)
            slots.append(i)
            if not exclusive:
                break  # a shared job needs one slot
        if slots and (not exclusive or len(slots) == share):
            return Allocation(device, slots, fds)
        for fd in fds:
            os.close(fd)
    return None


def acquire(
    devices: list[str],
    share: int = 1,
    exclusive: bool = False,
    lock_dir: Path | None = None,
    timeout: float | None = None,
    poll: float = 0.5,
    log=None,
) -> Allocation:
    """Block until a slot (or, exclusive, a whole device) is free; TimeoutError after ``timeout``."""
    if not devices:
        raise ValueError("no GPU devices to allocate from")
    start = time.monotonic()
    last_note = start
    while True:
        alloc = try_acquire(devices, share, exclusive, lock_dir)
        if alloc is not None:
            return alloc
        now = time.monotonic()
        if timeout is not None and now - start >= timeout:
            raise TimeoutError(f"no free GPU slot among {devices} after {timeout:g}s")
        if log is not None and now - last_note >= 60:
            log(f"gpu_slots: all {len(devices)} device(s) busy, waiting ({now - start:.0f}s)")
            last_note = now
        time.sleep(poll)


def _split_env_words(cmd: list[str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    i = 0
    while i < len(cmd) and _ENV_WORD.match(cmd[i]):
        name, value = cmd[i].split("=", 1)
        env[name] = value
        i += 1
    return env, cmd[i:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mtlner.run.gpu_slots", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--share",
        type=int,
        default=int(os.environ.get("MTLNER_GPU_SHARE", "1")),
        help="jobs per GPU (the workflow's gpu_share; default 1)",
    )
    ap.add_argument("--exclusive", action="store_true", help="take a whole device even when --share > 1")
    ap.add_argument("--devices", help="comma list of devices (default: see module doc)")
    ap.add_argument("--lock-dir", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=None, help="seconds to wait for a slot (default: forever)")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    extra_env, cmd = _split_env_words(cmd)
    if not cmd:
        ap.error("no command given (use: -- COMMAND ...)")
    if args.share < 1:
        ap.error("--share must be >= 1")
    env = dict(os.environ)
    env.update(extra_env)

    if "SLURM_JOB_ID" in os.environ:
        note = f"SLURM job {os.environ['SLURM_JOB_ID']}: CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')!r} from SLURM"
        fds: list[int] = []
    else:
        devices = _split_devices(args.devices) if args.devices else detect_devices(os.environ)
        if not devices:
            note = "no GPU device: running on CPU"
            fds = []
        else:

            def log(msg: str) -> None:
                print(msg, file=sys.stderr, flush=True)

            try:
                alloc = acquire(devices, args.share, args.exclusive, args.lock_dir, args.timeout, log=log)
            except TimeoutError as e:
                print(f"gpu_slots: {e}", file=sys.stderr)
                return 75  # EX_TEMPFAIL
            env["CUDA_VISIBLE_DEVICES"] = alloc.device
            env["MTLNER_GPU_SLOT"] = f"{alloc.device}:{','.join(map(str, alloc.slots))}"
            note = f"GPU {alloc.device} (slot {env['MTLNER_GPU_SLOT']}, share {args.share})"
            fds = alloc.fds
    print(f"gpu_slots: {note}", file=sys.stderr, flush=True)
    for fd in fds:
        os.set_inheritable(fd, True)  # the lock lives as long as the command
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as e:
        print(f"gpu_slots: cannot run {cmd[0]!r}: {e}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
