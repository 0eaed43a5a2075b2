"""``JobMonitor``: Laravel's queue monitor and Horizon's figures, from Temporal alone.

Three sources, none of them a second database:

* the metrics workflow's history, folded here (``history``): per-minute counts, runtime and
  wait histograms per queue and job class, and the workers' own reports (what runs, who is up);
* visibility: open, delayed and dead-lettered ``JobWorkflow`` executions, per queue;
* the counters of open batches and chains (a query each), and the task queues' backlog age.

Pending and running are "now"; processed, failures, throughput, runtime and wait cover a window
(15 minutes unless told otherwise). ``queue`` and ``job`` filter everything. With ``job``, jobs
inside batches and chains are left out of ``pending`` and ``failed``: a batch counts its jobs,
not its jobs per class.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from jobmodule.connection import UsesClient
from jobmodule.monitoring import figures as fig
from jobmodule.monitoring.history import read_metrics_state
from jobmodule.monitoring.models import (
    JobStats,
    MinuteFigures,
    MonitorSnapshot,
    QueueStats,
    WorkerInfo,
)
from jobmodule.monitoring.sources import (
    GroupCounters,
    backlog_age,
    count,
    job_counts,
    open_groups,
)
from jobmodule.visibility import dead_letter_query
from jobmodule.workflows.metrics_models import METRICS_QUEUE
from jobmodule.workflows.metrics_state import MetricsState

DEFAULT_WINDOW = fig.DEFAULT_WINDOW


class JobMonitor(UsesClient):
    """Queue and job figures, and the workers, across every worker of the namespace."""

    async def get_queue_stats(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        window: timedelta = DEFAULT_WINDOW,
    ) -> list[QueueStats]:
        """One ``QueueStats`` per queue (the queues workers poll or batches run on)."""
        fig.check_window(window)
        client = await self.client()
        state = await read_metrics_state(client)
        return await self._queue_stats(client, state, queue=queue, job=job, window=window)

    async def get_pending_jobs_count(
        self, *, queue: str | None = None, job: str | None = None
    ) -> int:
        """Jobs accepted and waiting for a worker now (not started, not delayed)."""
        rows = await self.get_queue_stats(queue=queue, job=job)
        return sum(row.pending for row in rows)

    async def get_failed_jobs_count(
        self, *, queue: str | None = None, job: str | None = None
    ) -> int:
        """Jobs failed for good and waiting now: the dead-letter queue, where every job that
        fails for good is parked (batch jobs, chain steps and callbacks included)."""
        client = await self.client()
        state = await read_metrics_state(client)
        dead, groups = await asyncio.gather(
            count(client, dead_letter_query(queue=queue, job=job)),
            self._groups(client, state, queue, job),
        )
        return dead + sum(group.failed_jobs for group in groups)

    async def get_average_processing_time(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        window: timedelta = DEFAULT_WINDOW,
    ) -> float:
        """Mean seconds per attempt over the window; 0.0 when none ran."""
        fig.check_window(window)
        state = await read_metrics_state(await self.client())
        now = datetime.now(UTC)
        aggregates = fig.window_aggregates(state, now, window, queue=queue, job=job)
        return fig.figures(aggregates, window).avg_runtime_s or 0.0

    async def get_job_stats(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        window: timedelta = DEFAULT_WINDOW,
    ) -> list[JobStats]:
        """One ``JobStats`` per job class that finished an attempt in the window."""
        fig.check_window(window)
        state = await read_metrics_state(await self.client())
        now = datetime.now(UTC)
        by_job = defaultdict(list)
        for aggregate in fig.window_aggregates(state, now, window, queue=queue, job=job):
            by_job[aggregate.job].append(aggregate)
        return [
            JobStats(
                job=name,
                queues=sorted({aggregate.queue for aggregate in aggregates}),
                **fig.figures(aggregates, window).model_dump(),
            )
            for name, aggregates in sorted(by_job.items())
        ]

    async def series(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        window: timedelta = timedelta(hours=1),
    ) -> list[MinuteFigures]:
        """Jobs processed and failed, runtime and wait, minute by minute (at most two hours):
        the points of a throughput chart, oldest first."""
        state = await read_metrics_state(await self.client())
        return fig.minute_series(state, datetime.now(UTC), window, queue=queue, job=job)

    async def series_by_queue(
        self, queues: list[str], *, window: timedelta = timedelta(hours=1)
    ) -> dict[str, list[MinuteFigures]]:
        """``series()`` of each of ``queues``, from one read of the metrics state."""
        state = await read_metrics_state(await self.client())
        now = datetime.now(UTC)
        return {name: fig.minute_series(state, now, window, queue=name) for name in queues}

    async def workers(self, *, queue: str | None = None) -> list[WorkerInfo]:
        """Workers that are up, or stopped or went lost within the last hour."""
        state = await read_metrics_state(await self.client())
        return fig.worker_infos(state, datetime.now(UTC), queue)

    async def snapshot(
        self, *, queue: str | None = None, window: timedelta = DEFAULT_WINDOW
    ) -> MonitorSnapshot:
        """Queues and workers in one read (``jobmodule monitor``)."""
        fig.check_window(window)
        client = await self.client()
        state = await read_metrics_state(client)
        queues = await self._queue_stats(client, state, queue=queue, window=window)
        now = datetime.now(UTC)
        return MonitorSnapshot(
            taken_at=now, queues=queues, workers=fig.worker_infos(state, now, queue)
        )

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    async def _groups(
        client: Client, state: MetricsState, queue: str | None, job: str | None
    ) -> list[GroupCounters]:
        if job is not None:
            return []
        return await open_groups(client, queue, fig.live_queues(state, datetime.now(UTC)))

    async def _queue_stats(
        self,
        client: Client,
        state: MetricsState,
        *,
        queue: str | None,
        window: timedelta,
        job: str | None = None,
    ) -> list[QueueStats]:
        """Every queue's row; its counts are read while the open batches are being asked."""
        now = datetime.now(UTC)
        reads: dict[str, asyncio.Task[QueueReads]] = {}

        def read(name: str) -> None:
            if name not in reads:
                reads[name] = asyncio.ensure_future(_queue_reads(client, name, job, now))

        for name in [queue] if queue else known_queues(state, []):
            read(name)
        groups = await self._groups(client, state, queue, job)
        if not queue:
            for name in known_queues(state, groups):  # queues only an open batch names
                read(name)
        return [
            self._queue_row(state, groups, name, job, window, now, await reads[name])
            for name in sorted(reads)
        ]

    @staticmethod
    def _queue_row(
        state: MetricsState,
        groups: list[GroupCounters],
        queue: str,
        job: str | None,
        window: timedelta,
        now: datetime,
        reads: QueueReads,
    ) -> QueueStats:
        (open_jobs, delayed_jobs, dead), oldest = reads
        mine = [group for group in groups if group.queue == queue]
        running_now = fig.running(state, now)
        pending, delayed = fig.pending_of(
            queue=queue,
            job=job,
            open_jobs=open_jobs,
            delayed_jobs=delayed_jobs,
            grouped_open=sum(group.open_jobs for group in mine),
            running_now=running_now,
            backoff_now=fig.in_backoff(state, now),
        )
        aggregates = fig.window_aggregates(state, now, window, queue=queue, job=job)
        workers = [info for info in fig.worker_infos(state, now, queue) if info.status == "up"]
        return QueueStats(
            queue=queue,
            pending=pending,
            delayed=delayed,
            running=fig.total(running_now, queue=queue, job=job),
            failed=dead + sum(group.failed_jobs for group in mine),
            oldest_pending_s=oldest if pending else None,
            workers=len(workers),
            **fig.figures(aggregates, window).model_dump(),
        )


QueueReads = tuple[tuple[int, int, int], float | None]
"""A queue's visibility counts (open, delayed, dead-lettered) and its backlog age."""


async def _queue_reads(client: Client, queue: str, job: str | None, now: datetime) -> QueueReads:
    counts, oldest = await asyncio.gather(
        job_counts(client, queue, job, now),
        backlog_age(client, queue) if job is None else _none(),
    )
    return counts, oldest


async def _none() -> None:
    return None


def known_queues(state: MetricsState, groups: list[GroupCounters]) -> list[str]:
    """Queues anything is known of: polled by a worker, run on, or holding an open batch."""
    names: set[str] = {group.queue for group in groups}
    for entry in state.workers.values():
        names.update(entry.snapshot.queues)
    names.update(aggregate.queue for aggregate in state.aggregates)
    names.update(entry.queue for entry in state.backoff)
    names.discard(METRICS_QUEUE)
    return sorted(names)
