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
    """SIGTERM arrived during training; a checkpoint was written and the job can be rerun to resume
    (:mod:`mtlner.train` raises it; here so the CLI can catch it without importing torch)."""
