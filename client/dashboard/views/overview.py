"""Overview, as Horizon's: jobs and failures per minute, the longest wait and runtime, workers
up, and the last hour's throughput."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import chart_data, client_of
from jobmodule.monitoring import JobMonitor, QueueStats

WINDOW = timedelta(minutes=15)
"""The window of the per-minute rates; the chart covers an hour."""


def headline(queues: list[QueueStats]) -> dict[str, object]:
    """The Overview's figures out of the queues' stats."""
    minutes = WINDOW.total_seconds() / 60
    waits = [q for q in queues if q.oldest_pending_s is not None]
    runtimes = [q for q in queues if q.p95_runtime_s is not None]
    longest_wait = max(waits, key=lambda q: q.oldest_pending_s or 0.0, default=None)
    longest_run = max(runtimes, key=lambda q: q.p95_runtime_s or 0.0, default=None)
    return {
        "jobs_per_minute": round(sum(q.processed for q in queues) / minutes, 1),
        "failures_per_minute": round(sum(q.failed_in_window for q in queues) / minutes, 1),
        "processed": sum(q.processed for q in queues),
        "pending": sum(q.pending for q in queues),
        "running": sum(q.running for q in queues),
        "failed": sum(q.failed for q in queues),
        "longest_wait": longest_wait.oldest_pending_s if longest_wait else None,
        "longest_wait_queue": longest_wait.queue if longest_wait else None,
        "longest_runtime": longest_run.p95_runtime_s if longest_run else None,
        "longest_runtime_queue": longest_run.queue if longest_run else None,
    }


async def overview(request: Request) -> Response:
    monitor = JobMonitor().using(client_of(request))
    snapshot, series = await asyncio.gather(
        monitor.snapshot(window=WINDOW), monitor.series(window=timedelta(hours=1))
    )
    return render(
        request,
        "overview",
        figures=headline(snapshot.queues),
        workers_up=sum(1 for worker in snapshot.workers if worker.status == "up"),
        workers_total=len(snapshot.workers),
        queues=snapshot.queues,
        chart=chart_data(series),
        taken_at=snapshot.taken_at,
    )
