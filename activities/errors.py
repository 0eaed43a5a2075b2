"""The error tree shared by every layer, and the stable ``type`` strings used at the activity edge.

``JobModuleError`` is the root. Each error that crosses the activity boundary becomes an
``ApplicationError`` whose ``type`` is one of the constants below; the same strings are listed in
``NON_RETRYABLE_ERROR_TYPES`` so Temporal never retries them.
"""

from __future__ import annotations

JOB_FAILED = "JobFailed"
"""The job called ``self.fail(reason)``: dead-letter it at once."""
JOB_RELEASED = "JobReleased"
"""The job called ``self.release(delay)``: try again after ``delay``."""
INVALID_PAYLOAD = "InvalidPayload"
"""The stored payload no longer validates against the job's model."""
UNKNOWN_JOB = "UnknownJob"
"""The worker has no job class registered under that name."""
TIMEOUT = "Timeout"
"""An async ``handle()`` ran past its timeout and was cancelled; retried like any failure."""
GROUP_INTERRUPTED = "GroupInterrupted"
"""A group activity stopped by its worker's shutdown; its details say which jobs finished."""

NON_RETRYABLE_ERROR_TYPES: tuple[str, ...] = (JOB_FAILED, INVALID_PAYLOAD, UNKNOWN_JOB)


class JobModuleError(Exception):
    """Root of every error jobmodule raises on purpose."""


class JobDefinitionError(JobModuleError, TypeError):
    """A Job subclass declares an invalid policy (for example ``tries = 0``)."""


class UnknownJobError(JobModuleError, LookupError):
    """No job class is registered under a name."""

    def __init__(self, name: str, *, known: list[str], loaded_modules: list[str]) -> None:
        import difflib

        self.name = name
        self.close_matches = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(self.close_matches)}?" if self.close_matches else ""
        modules = ", ".join(loaded_modules) or "none"
        super().__init__(
            f"Unknown job {name!r}.{hint} Job modules loaded: {modules}. "
            "Import the module that defines it (worker: --jobs MODULE)."
        )


class PayloadTooLargeError(JobModuleError, ValueError):
    """A payload exceeds Temporal's 2 MB blob limit, so it would be rejected by the server."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"{what} is {size:,} bytes, over Temporal's limit of {limit:,} bytes per payload. "
            "Pass a reference (a path, an id, an offset range) instead of the data itself."
        )


class JobFailedError(JobModuleError):
    """Raised inside ``handle()`` by ``self.fail(reason)``: fail now, with no retry."""


class JobReleasedError(JobModuleError):
    """Raised inside ``handle()`` by ``self.release(delay)``: run again after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        super().__init__(f"released back onto the queue for {delay:g}s")


class ChunkHistoryError(JobModuleError):
    """A batch chunk's jobs could not be read back from its history (``retry_failed()``)."""
