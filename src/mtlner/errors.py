"""One exception type for problems a user can fix.

The CLI catches :class:`UserError` and prints its message alone (no traceback), so every
message must say *where* (file, line, config key) and *what to do*.
"""


class UserError(Exception):
    """Bad input or configuration, reported to the user without a traceback."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  -> {hint}")


class Preempted(Exception):
    """SIGTERM arrived during training; its message says whether a checkpoint was written (a rerun
    resumes) or not (a rerun starts over). :mod:`mtlner.training.loop` raises it; here so the CLI can
    catch it without importing torch."""


def first_line(err: BaseException, limit: int = 100) -> str:
    """An exception as one short line for a one-message report: its type and the first line of
    its message (the type alone when the message is empty, as some load errors' are)."""
    lines = str(err).strip().splitlines()
    line = lines[0] if lines else ""
    line = line if len(line) <= limit else line[: limit - 3].rstrip() + "..."
    return f"{type(err).__name__}: {line}" if line else type(err).__name__
