"""``JobRecorder``: what a worker process saw its jobs do, until the reporter sends it on.

It is the ``JobObserver`` the activities report each attempt to. Per attempt it costs a few
dictionary updates (and, when configured, our Prometheus/OTLP instruments and a span): no call
to the server. The reporter drains the per-minute deltas every few seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from opentelemetry import trace

from jobmodule.activities.ids import short_name
from jobmodule.activities.observe import Attempt, JobKind
from jobmodule.worker.telemetry import JobMetrics
from jobmodule.workflows.metrics_models import BackoffEntry, JobAggregate, RunningCount


class JobRecorder:
    """Aggregates attempts per minute, queue and job; counts what runs now."""

    def __init__(self, *, metrics: JobMetrics | None = None, tracer: trace.Tracer | None = None):
        self._metrics = metrics
        self._tracer = tracer
        self._deltas: dict[tuple[int, str, str], JobAggregate] = {}
        self._backoff: Counter[tuple[str, str, JobKind, int]] = Counter()
        self._running: Counter[tuple[str, str, JobKind]] = Counter()
        self.processed = 0
        """Attempts that succeeded here."""
        self.failed = 0
        """Attempts that failed here."""

    # -- JobObserver ------------------------------------------------------------------------------

    @contextmanager
    def attempt(self, attempt: Attempt) -> Iterator[None]:
        """Count the attempt as running while it runs, then record how it ended."""
        key = (attempt.queue, attempt.job, attempt.kind)
        self._running[key] += 1
        self._gauge(attempt)
        began = time.monotonic()
        try:
            if self._tracer is None:
                yield
            else:
                with self._tracer.start_as_current_span(
                    f"RunJob:{short_name(attempt.job)}",
                    attributes={
                        "jobmodule.job": attempt.job,
                        "jobmodule.job_id": attempt.job_id,
                        "jobmodule.queue": attempt.queue,
                        "jobmodule.attempt": attempt.number,
                    },
                ) as span:
                    try:
                        yield
                    finally:
                        span.set_attribute("jobmodule.outcome", attempt.outcome or "")
        finally:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
            self._gauge(attempt)
            self._ended(attempt, time.monotonic() - began)

    def dead_lettered(self, job: str, queue: str) -> None:
        """A ``failed()`` hook began: its job failed for good (counted once, here)."""
        self._aggregate(queue, job).failed += 1
        if self._metrics is not None:
            self._metrics.dead_lettered(job, queue)

    # -- recording --------------------------------------------------------------------------------

    def _ended(self, attempt: Attempt, runtime: float) -> None:
        if attempt.outcome == "cancelled":
            if self._metrics is not None:
                self._metrics.attempt_ended(attempt, None)
            return  # a stop or a timeout elsewhere: neither a result nor a runtime
        aggregate = self._aggregate(attempt.queue, attempt.job)
        aggregate.attempts += 1
        aggregate.runtime.record(runtime)
        aggregate.wait.record(attempt.wait_seconds)
        if attempt.outcome == "succeeded":
            aggregate.succeeded += 1
            self.processed += 1
        else:
            self.failed += 1
            if not attempt.final:
                aggregate.retried += 1
            # A final failure is counted once, by its failed() hook (``dead_lettered``): every
            # job that fails for good, alone, in a batch or chain, or as a callback, is parked
            # as a JobWorkflow that runs it, and the hook sees timeouts and deadlines too.
        if attempt.retry_in is not None:
            ready = int((datetime.now(UTC) + timedelta(seconds=attempt.retry_in)).timestamp())
            self._backoff[(attempt.queue, attempt.job, attempt.kind, ready)] += 1
        if self._metrics is not None:
            self._metrics.attempt_ended(attempt, runtime)

    def _aggregate(self, queue: str, job: str) -> JobAggregate:
        minute = int(time.time() // 60)
        key = (minute, queue, job)
        aggregate = self._deltas.get(key)
        if aggregate is None:
            aggregate = self._deltas[key] = JobAggregate(at=minute, queue=queue, job=job)
        return aggregate

    def _gauge(self, attempt: Attempt) -> None:
        if self._metrics is not None:
            count = sum(
                n
                for (q, j, _), n in self._running.items()
                if (q, j) == (attempt.queue, attempt.job)
            )
            self._metrics.running(attempt.job, attempt.queue, count)

    # -- for the reporter -------------------------------------------------------------------------

    def running_now(self) -> list[RunningCount]:
        """What runs here now, by queue, job and kind."""
        return [
            RunningCount(queue=queue, job=job, kind=kind, count=count)
            for (queue, job, kind), count in sorted(self._running.items())
        ]

    @property
    def running(self) -> int:
        return sum(self._running.values())

    def drain(self) -> tuple[list[JobAggregate], list[BackoffEntry]]:
        """The deltas since the last drain, and the retry backoffs begun since; both reset."""
        aggregates = sorted(self._deltas.values(), key=lambda a: (a.at, a.queue, a.job))
        backoff = [
            BackoffEntry(queue=queue, job=job, kind=kind, ready_at=ready, count=count)
            for (queue, job, kind, ready), count in sorted(self._backoff.items())
        ]
        self._deltas = {}
        self._backoff = Counter()
        return aggregates, backoff
