"""Figures out of the metrics state: pure functions of the folded reports and a clock.

Kept apart from the reads so the arithmetic (windows, percentiles, lost workers, what counts as
pending) is unit-tested without a server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from jobmodule.monitoring.models import MinuteFigures, WindowFigures, WorkerInfo, WorkerStatus
from jobmodule.workflows.metrics_models import Histogram, JobAggregate, WorkerSnapshot
from jobmodule.workflows.metrics_state import HOUR_TIER, MINUTE_TIER, MetricsState, WorkerEntry

DEFAULT_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(minutes=HOUR_TIER)
"""The state keeps a day of buckets; a longer window would silently read as a day."""
MAX_SERIES_WINDOW = timedelta(minutes=MINUTE_TIER)
"""The state keeps minute buckets for two hours; older minutes are folded into hours."""
MISSED_REPORTS_WHEN_LOST = 6
"""A worker silent for six of its report intervals without a goodbye is lost: 30 s at the
default interval, so a busy worker is not flagged, and well inside the minute the issue allows."""
GROUPED_KINDS = ("batch", "chain")
"""Kinds whose jobs a batch's or chain's counters hold (callbacks are counted by neither)."""

Tally = Counter[tuple[str, str, str]]
"""Jobs by (queue, job, kind)."""


def check_window(window: timedelta) -> timedelta:
    """The window, or a ValueError that says what is allowed."""
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise ValueError(f"window must be more than 0 and at most {MAX_WINDOW}, not {window}")
    return window


def worker_status(entry: WorkerEntry, now: datetime) -> WorkerStatus:
    if entry.snapshot.stopped:
        return "stopped"
    return "lost" if now - entry.snapshot.sent_at > lost_after(entry.snapshot) else "up"


def lost_after(snapshot: WorkerSnapshot) -> timedelta:
    """How long this worker may stay silent before it counts as lost."""
    return timedelta(seconds=snapshot.report_seconds * MISSED_REPORTS_WHEN_LOST)


def worker_infos(state: MetricsState, now: datetime, queue: str | None = None) -> list[WorkerInfo]:
    """The workers the state knows (up, stopped or lost in the last hour), oldest first."""
    rows = []
    for entry in state.workers.values():
        snapshot = entry.snapshot
        if queue is not None and queue not in snapshot.queues:
            continue
        rows.append(
            WorkerInfo(
                identity=snapshot.identity,
                host=snapshot.host,
                pid=snapshot.pid,
                queues=snapshot.queues,
                started_at=snapshot.started_at,
                last_seen=snapshot.sent_at,
                jobs_processed=snapshot.jobs_processed,
                jobs_failed=snapshot.jobs_failed,
                running=snapshot.running,
                slots=snapshot.slots,
                rss_mb=snapshot.rss_mb,
                cpu_percent=snapshot.cpu_percent,
                status=worker_status(entry, now),
                worker_id=snapshot.worker_id,
            )
        )
    return sorted(rows, key=lambda row: (row.started_at, row.worker_id))


def live_queues(state: MetricsState, now: datetime) -> set[str]:
    """Queues some worker that is up polls now."""
    return {
        queue
        for entry in state.workers.values()
        if worker_status(entry, now) == "up"
        for queue in entry.snapshot.queues
    }


def running(state: MetricsState, now: datetime) -> Tally:
    """What runs now, as the workers that are up last reported it."""
    tally: Tally = Counter()
    for entry in state.workers.values():
        if worker_status(entry, now) == "up":
            for count in entry.running:
                tally[(count.queue, count.job, count.kind)] += count.count
    return tally


def in_backoff(state: MetricsState, now: datetime) -> Tally:
    """Jobs waiting out a retry backoff now."""
    tally: Tally = Counter()
    second = now.timestamp()
    for entry in state.backoff:
        if entry.ready_at > second:
            tally[(entry.queue, entry.job, entry.kind)] += entry.count
    return tally


def total(tally: Tally, *, queue: str, job: str | None = None, kinds: Iterable[str] = ()) -> int:
    """The part of a tally on ``queue`` (of ``job``, of ``kinds``; all when not given)."""
    wanted = set(kinds)
    return sum(
        count
        for (q, j, kind), count in tally.items()
        if q == queue and (job is None or j == job) and (not wanted or kind in wanted)
    )


def window_aggregates(
    state: MetricsState,
    now: datetime,
    window: timedelta,
    *,
    queue: str | None = None,
    job: str | None = None,
) -> list[JobAggregate]:
    """The buckets of the window (filtered); a bucket half inside counts whole."""
    return [
        aggregate
        for aggregate in state.since(now - window)
        if (queue is None or aggregate.queue == queue) and (job is None or aggregate.job == job)
    ]


def figures(aggregates: Iterable[JobAggregate], window: timedelta) -> WindowFigures:
    """Processed, failed, throughput, and average and p95 runtime and wait, over ``window``."""
    runtime, wait = Histogram(), Histogram()
    succeeded = failed = retried = 0
    for aggregate in aggregates:
        succeeded += aggregate.succeeded
        failed += aggregate.failed
        retried += aggregate.retried
        runtime.merge(aggregate.runtime)
        wait.merge(aggregate.wait)
    processed = succeeded + failed
    return WindowFigures(
        window_s=window.total_seconds(),
        processed=processed,
        failed_in_window=failed,
        retried=retried,
        throughput_per_minute=round(processed / (window.total_seconds() / 60), 3),
        avg_runtime_s=_rounded(runtime.mean),
        p95_runtime_s=_rounded(runtime.quantile(0.95)),
        avg_wait_s=_rounded(wait.mean),
        p95_wait_s=_rounded(wait.quantile(0.95)),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def pending_of(
    *,
    queue: str,
    job: str | None,
    open_jobs: int,
    delayed_jobs: int,
    grouped_open: int,
    running_now: Tally,
    backoff_now: Tally,
) -> tuple[int, int]:
    """Pending and delayed jobs of a queue, from what is open and what runs or waits.

    ``open_jobs`` are the queue's open JobWorkflows not dead-lettered (visibility keeps them
    ``queued`` while they run), ``delayed_jobs`` those whose start delay has not passed, and
    ``grouped_open`` the jobs its open batches and chains have not finished. What runs, and
    what waits out a retry backoff, is not pending: each kind is taken from its own count, and
    no count goes below zero when a report is a few seconds behind visibility.
    """
    own = open_jobs - delayed_jobs
    own -= total(running_now, queue=queue, job=job, kinds=["job"])
    own -= total(backoff_now, queue=queue, job=job, kinds=["job"])
    grouped = grouped_open
    grouped -= total(running_now, queue=queue, job=job, kinds=GROUPED_KINDS)
    grouped -= total(backoff_now, queue=queue, job=job, kinds=GROUPED_KINDS)
    pending = max(0, own) + max(0, grouped)
    return pending, delayed_jobs + total(backoff_now, queue=queue, job=job)


def minute_series(
    state: MetricsState,
    now: datetime,
    window: timedelta,
    *,
    queue: str | None = None,
    job: str | None = None,
) -> list[MinuteFigures]:
    """One point per minute of the window, oldest first, minutes without jobs as zeros."""
    if window <= timedelta(0) or window > MAX_SERIES_WINDOW:
        raise ValueError(f"window must be more than 0 and at most {MAX_SERIES_WINDOW}")
    last = int(now.timestamp() // 60)
    first = last - int(window.total_seconds() // 60) + 1
    by_minute: dict[int, list[JobAggregate]] = {minute: [] for minute in range(first, last + 1)}
    for aggregate in window_aggregates(state, now, window, queue=queue, job=job):
        if aggregate.minutes == 1 and aggregate.at in by_minute:
            by_minute[aggregate.at].append(aggregate)
    points = []
    for minute, aggregates in by_minute.items():
        one = figures(aggregates, timedelta(minutes=1))
        points.append(
            MinuteFigures(
                at=datetime.fromtimestamp(minute * 60, tz=now.tzinfo),
                processed=one.processed,
                failed=one.failed_in_window,
                retried=one.retried,
                avg_runtime_s=one.avg_runtime_s,
                avg_wait_s=one.avg_wait_s,
            )
        )
    return points
