"""Job states, as ``JobHandle.status()`` reports them and ``JobStatus`` stores them."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job is in its life (Laravel/Horizon vocabulary)."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    DEAD_LETTERED = "dead_lettered"
    FORGOTTEN = "forgotten"
    EXPIRED = "expired"
    """It waited in the dead-letter queue past its retention and closed as failed."""
    CANCELLED = "cancelled"
    """Cancelled before it settled (a batch's ``JobStatus`` after ``cancel()``, too)."""
    TERMINATED = "terminated"
    """Closed by force (terminated, or timed out) without an outcome."""


SETTLED_STATES = frozenset({JobState.SUCCEEDED, JobState.DEAD_LETTERED, JobState.FORGOTTEN})
"""States in which a caller waiting for the job's outcome can be answered."""
