"""How long this process has been running: the clock behind metrics.json's ``startup_seconds``.

``process_age()`` is the time since the kernel forked this process (``/proc/self/stat``'s start
time against CLOCK_BOOTTIME, the clock it is kept on; 10 ms resolution), so it counts the
interpreter's own start, every import and, for a job started through ``mtlner.run.gpu_slots`` or
``mtlner leaks warn`` (which exec the training command in the same process), their work too.
Without /proc (not Linux) it counts from the first import of this module, which
``mtlner.cli`` does before anything else. A job served by ``mtlner.run.forkserver`` runs in a fork of
the server: there the clock is moved to the start of the job's own process (the client that
Snakemake started), so ``startup_seconds`` means the same either way, and ``launch()`` says which.
Imports nothing beyond the standard library's os/time.
"""

from __future__ import annotations

import os
import time

_IMPORTED_AT = time.monotonic()


def _proc_age() -> float | None:
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # the command name may hold spaces
        return time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


_AGE_AT_IMPORT = _proc_age()


def process_age(at: float | None = None) -> float:
    """Seconds from this process's start to ``at`` (a ``time.monotonic()`` reading; default: now)."""
    at = time.monotonic() if at is None else at
    return max(0.0, (_AGE_AT_IMPORT or 0.0) + at - _IMPORTED_AT)


_LAUNCH = "process"


def process_start() -> float:
    """This process's start as a wall-clock time (``time.time()`` scale), to hand to another process."""
    return time.time() - process_age()


def set_process_start(started: float | None) -> None:
    """In a job forked by the fork server: count from ``started`` (the client's ``process_start()``)."""
    global _AGE_AT_IMPORT, _IMPORTED_AT, _LAUNCH
    _IMPORTED_AT = time.monotonic()
    _AGE_AT_IMPORT = max(0.0, time.time() - started) if started else 0.0
    _LAUNCH = "fork-server"


def launch() -> str:
    """How this job's process began: "process" (its own interpreter) or "fork-server"."""
    return _LAUNCH
