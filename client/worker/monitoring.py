"""What monitoring adds to a worker process: the observer, the reporter, the metrics worker.

``run_worker`` asks for it once (``WorkerMonitoring.start_for``), hands ``interceptors`` to its
job workers, runs ``metrics_worker`` beside them, and calls ``stop()`` after draining, so the
goodbye carries the last counts. With ``JOBS_MONITORING=false`` there is none of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from temporalio import activity
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import Runtime
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
    WorkflowRunner,
)

from jobmodule.activities import FailedHookInput, RunJobInput
from jobmodule.activities.observe import ActivityScope, JobObserver, current_scope, watch_run_job
from jobmodule.settings import JobSettings
from jobmodule.worker.recorder import JobRecorder
from jobmodule.worker.reporter import WorkerReporter
from jobmodule.worker.telemetry import JobMetrics, tracing_configured
from jobmodule.workflows.metrics import MetricsWorkflow
from jobmodule.workflows.metrics_models import METRICS_QUEUE

METRICS_WORKFLOW_TASKS = 4
"""Workflow tasks of the metrics workflow at once: there is one such workflow, so a few."""


class ObservingInterceptor(Interceptor):
    """Gives every activity of a worker its observer; times ``run_job`` attempts itself."""

    def __init__(self, observer: JobObserver) -> None:
        self._observer = observer

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ObservingInbound(next, self._observer)


class _ObservingInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, observer: JobObserver) -> None:
        super().__init__(next)
        self._observer = observer

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        scope = ActivityScope(self._observer, activity.info(), time.monotonic())
        token = current_scope.set(scope)
        try:
            argument = input.args[0] if input.args else None
            if isinstance(argument, RunJobInput):
                return await watch_run_job(super().execute_activity(input), argument)
            if isinstance(argument, FailedHookInput) and scope.info.attempt == 1:
                self._observer.dead_lettered(argument.job, scope.info.task_queue)
            return await super().execute_activity(input)
        finally:
            current_scope.reset(token)


def metric_meter(client: Client) -> MetricMeter:
    """The meter of the client's runtime: a no-op unless metrics were configured on it."""
    runtime = client.service_client.config.runtime or Runtime.default()
    return runtime.metric_meter


class WorkerMonitoring:
    """The monitoring of one worker process, from its first report to its goodbye."""

    def __init__(self, client: Client, queues: Sequence[str], settings: JobSettings) -> None:
        self._client = client
        meter = metric_meter(client)
        self.recorder = JobRecorder(
            metrics=None if meter is MetricMeter.noop else JobMetrics(meter),
            tracer=trace.get_tracer("jobmodule") if tracing_configured() else None,
        )
        self.reporter = WorkerReporter(
            client,
            self.recorder,
            queues=queues,
            # One budget per process, shared by its queues (``jobmodule.worker.slots``).
            slots=settings.max_concurrent_activities,
            interval=settings.monitor_report_seconds,
        )
        self.interceptors: list[Interceptor] = [ObservingInterceptor(self.recorder)]
        self._stop = asyncio.Event()
        self._reporting: asyncio.Task[None] | None = None

    @classmethod
    def start_for(
        cls, client: Client, queues: Sequence[str], settings: JobSettings
    ) -> WorkerMonitoring | None:
        """Monitoring for a worker of ``queues``, reporting from now on; None when it is off."""
        if not settings.monitoring:
            return None
        monitoring = cls(client, queues, settings)
        monitoring._reporting = asyncio.create_task(monitoring.reporter.run(monitoring._stop))
        return monitoring

    def metrics_worker(self, runner: WorkflowRunner) -> Worker:
        """A worker of the metrics workflow's queue: every monitoring process polls it."""
        return Worker(
            self._client,
            task_queue=METRICS_QUEUE,
            workflows=[MetricsWorkflow],
            workflow_runner=runner,
            max_concurrent_workflow_tasks=METRICS_WORKFLOW_TASKS,
        )

    async def stop(self) -> None:
        """Stop reporting and say goodbye (after the job workers drained)."""
        self._stop.set()
        if self._reporting is not None:
            await self._reporting
        await self.reporter.goodbye()
