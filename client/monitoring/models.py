"""The read models of monitoring: ``QueueStats``, ``JobStats``, ``WorkerInfo`` (Horizon's nouns).

Counts are jobs, never Temporal tasks: a batch of 30 jobs that have not started is 30 pending,
however its chunks group them into activity tasks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

WorkerStatus = Literal["up", "stopped", "lost"]


class WindowFigures(BaseModel):
    """What jobs did over a window of time (the last 15 minutes unless asked otherwise)."""

    window_s: float
    processed: int = 0
    """Jobs that finished in the window: succeeded, or failed for good."""
    failed_in_window: int = 0
    """Of those, the ones that failed for good (their last try, or dead-lettered)."""
    retried: int = 0
    """Attempts that failed or were released with a retry to come."""
    throughput_per_minute: float = 0.0
    """``processed`` per minute of the window."""
    avg_runtime_s: float | None = None
    """Per attempt; None when no attempt ended in the window."""
    p95_runtime_s: float | None = None
    avg_wait_s: float | None = None
    """From when a job could have started (dispatch, the end of its delay or backoff) to the
    start of its attempt."""
    p95_wait_s: float | None = None


class QueueStats(WindowFigures):
    """One queue now, and over the window."""

    queue: str
    pending: int = 0
    """Accepted, waiting for a worker (ready to start, not started)."""
    delayed: int = 0
    """Accepted, held back by a start delay or a retry backoff: they become pending later."""
    running: int = 0
    failed: int = 0
    """Failed for good and waiting for an operator now: the dead-letter queue, and the failed
    jobs of open batches (``retry_failed()``)."""
    oldest_pending_s: float | None = None
    """Age of the oldest task waiting in the queue's backlog (Horizon's max wait); None when the
    server has none to report."""
    workers: int = 0
    """Workers polling the queue now."""


class JobStats(WindowFigures):
    """One job class over the window, on every queue it ran on (or the one asked for)."""

    job: str
    queues: list[str] = Field(default_factory=list)


class WorkerInfo(BaseModel):
    """A worker process as its reports describe it."""

    identity: str
    host: str
    pid: int
    queues: list[str]
    started_at: datetime
    last_seen: datetime
    jobs_processed: int
    """Attempts that succeeded there."""
    jobs_failed: int
    """Attempts that failed there."""
    running: int
    slots: int
    rss_mb: float
    cpu_percent: float
    status: WorkerStatus
    """``up``; ``stopped`` (it drained and said goodbye); ``lost`` (silent, no goodbye)."""
    worker_id: str


class MinuteFigures(BaseModel):
    """What jobs did during one minute: a point of a throughput chart (``JobMonitor.series``)."""

    at: datetime
    """Start of the minute (UTC)."""
    processed: int = 0
    """Jobs that finished in the minute: succeeded, or failed for good."""
    failed: int = 0
    """Of those, the ones that failed for good."""
    retried: int = 0
    avg_runtime_s: float | None = None
    avg_wait_s: float | None = None


class MonitorSnapshot(BaseModel):
    """Everything ``jobmodule monitor`` draws, read once."""

    taken_at: datetime
    queues: list[QueueStats]
    workers: list[WorkerInfo]
