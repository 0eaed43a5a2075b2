"""What workers report to the metrics workflow: per-minute aggregates, running counts, themselves.

Workers measure, the metrics workflow only adds up (``metrics_state``), and readers fold the same
reports the same way, so every figure a user sees comes out of Temporal's history. Histograms
have fixed, log-spaced buckets, so aggregates from any number of workers merge by adding counts.
"""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel, Field

from jobmodule.activities.observe import JobKind

METRICS_QUEUE = "jobmodule-metrics"
"""The task queue every monitoring worker also polls, so the metrics workflow always has one."""
REPORT_SIGNAL = "report"

BUCKETS_PER_DECADE = 10
"""Bucket bounds grow by 10^0.1 (26%): a p95 is within a quarter of the truth, and is clamped
to the smallest and largest value seen, so a set of equal durations reads exactly."""
SMALLEST_SECONDS = 0.001
LAST_BUCKET = 70
"""10^7 ms: about 2.8 hours; longer durations share the last bucket."""


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration: the first whose upper bound holds it."""
    if seconds <= SMALLEST_SECONDS:
        return 0
    index = math.ceil(math.log10(seconds / SMALLEST_SECONDS) * BUCKETS_PER_DECADE - 1e-9)
    return min(index, LAST_BUCKET)


def upper_bound(bucket: int) -> float:
    """The largest duration (seconds) bucket ``bucket`` holds."""
    return float(SMALLEST_SECONDS * 10 ** (bucket / BUCKETS_PER_DECADE))


class Histogram(BaseModel):
    """Durations in seconds: count, sum, extremes and log-spaced bucket counts (sparse)."""

    n: int = 0
    sum: float = 0.0
    min: float | None = None
    max: float | None = None
    buckets: dict[int, int] = Field(default_factory=dict)

    def record(self, seconds: float) -> None:
        self.n += 1
        self.sum += seconds
        self.min = seconds if self.min is None else min(self.min, seconds)
        self.max = seconds if self.max is None else max(self.max, seconds)
        bucket = bucket_of(seconds)
        self.buckets[bucket] = self.buckets.get(bucket, 0) + 1

    def merge(self, other: Histogram) -> None:
        if other.n == 0:
            return
        self.n += other.n
        self.sum += other.sum
        if other.min is not None:
            self.min = other.min if self.min is None else min(self.min, other.min)
        if other.max is not None:
            self.max = other.max if self.max is None else max(self.max, other.max)
        for bucket, count in other.buckets.items():
            self.buckets[bucket] = self.buckets.get(bucket, 0) + count

    @property
    def mean(self) -> float | None:
        return self.sum / self.n if self.n else None

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1), interpolated inside its bucket; None when empty."""
        if self.n == 0:
            return None
        rank = q * self.n
        seen = 0
        for bucket in sorted(self.buckets):
            count = self.buckets[bucket]
            if seen + count >= rank:
                low = upper_bound(bucket - 1) if bucket > 0 else 0.0
                high = upper_bound(bucket)
                value = low + (high - low) * ((rank - seen) / count)
                return _clamp(value, self.min, self.max)
            seen += count
        return self.max


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


class JobAggregate(BaseModel):
    """What the jobs of one class on one queue did during one bucket of time."""

    at: int
    """Start of the bucket, in minutes since the epoch."""
    minutes: int = 1
    """Width of the bucket: 1 for recent ones, 60 once they are older (``metrics_state``)."""
    queue: str
    job: str
    attempts: int = 0
    succeeded: int = 0
    """Jobs that succeeded (each success settles its job)."""
    failed: int = 0
    """Jobs that failed for good (their last attempt, or their trip to the dead-letter queue)."""
    retried: int = 0
    """Attempts that failed or released with a retry to come."""
    runtime: Histogram = Field(default_factory=Histogram)
    """Per attempt that ran to an end (succeeded, failed or released)."""
    wait: Histogram = Field(default_factory=Histogram)
    """Per attempt: from when it could have started to when it did."""

    @property
    def key(self) -> tuple[int, int, str, str]:
        return (self.at, self.minutes, self.queue, self.job)

    def merge(self, other: JobAggregate) -> None:
        self.attempts += other.attempts
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.retried += other.retried
        self.runtime.merge(other.runtime)
        self.wait.merge(other.wait)


class RunningCount(BaseModel):
    """Jobs of a class running on a worker now, by what runs them."""

    queue: str
    job: str
    kind: JobKind
    count: int


class BackoffEntry(BaseModel):
    """Jobs that failed an attempt and may start again at ``ready_at`` (epoch seconds)."""

    queue: str
    job: str
    kind: JobKind
    ready_at: int
    count: int = 1

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.queue, self.job, self.kind, self.ready_at)


class WorkerSnapshot(BaseModel):
    """A worker process as it describes itself in each report."""

    worker_id: str
    """Unique per process start (a restarted worker is a new one)."""
    identity: str
    host: str
    pid: int
    queues: list[str]
    started_at: datetime
    sent_at: datetime
    jobs_processed: int = 0
    """Attempts that succeeded here since it started."""
    jobs_failed: int = 0
    """Attempts that failed here since it started (retried or not)."""
    running: int = 0
    slots: int = 0
    """Jobs it may run at once, over all its queues."""
    rss_mb: float = 0.0
    cpu_percent: float = 0.0
    """Process CPU over the last report interval (100 = one core)."""
    stopped: bool = False
    """It drained and said goodbye."""
    report_seconds: float = 5.0
    """Its report interval: it is lost after six of them pass in silence."""


class WorkerReport(BaseModel):
    """One report of one worker: what changed since its previous report, and its state now."""

    seq: int
    """Per worker, from 1: a report re-sent after a lost reply is not counted twice."""
    worker: WorkerSnapshot
    aggregates: list[JobAggregate] = Field(default_factory=list)
    """Deltas since the previous report."""
    running: list[RunningCount] = Field(default_factory=list)
    """What runs there now (replaces the previous report's)."""
    backoff: list[BackoffEntry] = Field(default_factory=list)
    """Jobs that went into a retry backoff since the previous report."""


class ReportBatch(BaseModel):
    """The signal's argument: the reports a worker has not had acknowledged yet, oldest first."""

    reports: list[WorkerReport]


class WorkerEntry(BaseModel):
    """The latest of a worker, as the metrics workflow keeps it."""

    snapshot: WorkerSnapshot
    last_seq: int = 0
    running: list[RunningCount] = Field(default_factory=list)
