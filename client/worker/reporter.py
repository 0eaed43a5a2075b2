"""``WorkerReporter``: every few seconds, one signal-with-start to the metrics workflow.

That is the whole server cost of monitoring a worker: one call per report interval, whatever
the number of jobs it runs. A report carries the recorder's per-minute deltas, what runs now,
and the worker itself (``WorkerSnapshot``); the last one, sent as it drains, says goodbye. A
report that could not be sent is sent again, whole and under its own sequence number, with the
next one, so a reply lost on the way never counts a job twice and an outage loses nothing
(up to ``MAX_UNSENT`` reports).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.client import Client

from jobmodule.activities.ids import METRICS_WORKFLOW_ID
from jobmodule.worker.recorder import JobRecorder
from jobmodule.workflows.metrics import MetricsWorkflow
from jobmodule.workflows.metrics_models import (
    METRICS_QUEUE,
    REPORT_SIGNAL,
    ReportBatch,
    WorkerReport,
    WorkerSnapshot,
)
from jobmodule.workflows.metrics_state import MetricsInput

log = logging.getLogger("jobmodule.worker")

MAX_UNSENT = 120
"""Reports kept while the server is unreachable: ten minutes at the default interval."""
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """This process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE / 2**20
    except (OSError, IndexError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CpuMeter:
    """Process CPU time over wall time since the previous reading (100 = one core busy)."""

    def __init__(self) -> None:
        self._wall = time.monotonic()
        self._cpu = self._used()

    @staticmethod
    def _used() -> float:
        times = os.times()
        return times.user + times.system

    def percent(self) -> float:
        wall, cpu = time.monotonic(), self._used()
        elapsed = wall - self._wall
        value = (cpu - self._cpu) / elapsed * 100 if elapsed > 0 else 0.0
        self._wall, self._cpu = wall, cpu
        return round(value, 1)


class WorkerReporter:
    """Sends this worker's reports to the metrics workflow until told to stop."""

    def __init__(
        self,
        client: Client,
        recorder: JobRecorder,
        *,
        queues: Sequence[str],
        slots: int,
        interval: float,
    ) -> None:
        self._client = client
        self._recorder = recorder
        self._queues = list(queues)
        self._slots = slots
        self._interval = interval
        self.worker_id = uuid.uuid4().hex
        self._started_at = datetime.now(UTC)
        self._seq = 0
        self._unsent: list[WorkerReport] = []
        self._cpu = CpuMeter()
        self._failing = False

    async def run(self, stop: asyncio.Event) -> None:
        """Report now and every interval until ``stop`` is set (the goodbye is separate)."""
        while not stop.is_set():
            await self.send()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def goodbye(self) -> None:
        """The last report: the worker drained and stops (``stopped`` rather than ``lost``)."""
        await self.send(stopped=True)

    async def send(self, *, stopped: bool = False) -> bool:
        """One report (plus any not acknowledged yet) as one signal-with-start."""
        self._seq += 1
        aggregates, backoff = self._recorder.drain()
        self._unsent.append(
            WorkerReport(
                seq=self._seq,
                worker=self._snapshot(stopped),
                aggregates=aggregates,
                running=[] if stopped else self._recorder.running_now(),
                backoff=backoff,
            )
        )
        del self._unsent[:-MAX_UNSENT]
        try:
            await self._client.start_workflow(
                MetricsWorkflow.run,
                MetricsInput(),
                id=METRICS_WORKFLOW_ID,
                task_queue=METRICS_QUEUE,
                start_signal=REPORT_SIGNAL,
                start_signal_args=[ReportBatch(reports=self._unsent)],
                static_summary="jobmodule monitoring: what every worker reports",
            )
        except Exception as error:  # the server is away: keep the reports for the next try
            if not self._failing:
                log.warning("monitoring report not sent (will retry): %s", error)
            self._failing = True
            return False
        if self._failing:
            log.info("monitoring reports delivered again")
        self._failing = False
        self._unsent = []
        return True

    def _snapshot(self, stopped: bool) -> WorkerSnapshot:
        return WorkerSnapshot(
            worker_id=self.worker_id,
            identity=self._client.identity,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self._queues,
            started_at=self._started_at,
            sent_at=datetime.now(UTC),
            jobs_processed=self._recorder.processed,
            jobs_failed=self._recorder.failed,
            running=0 if stopped else self._recorder.running,
            slots=self._slots,
            rss_mb=round(rss_mb(), 1),
            cpu_percent=self._cpu.percent(),
            stopped=stopped,
            report_seconds=self._interval,
        )
