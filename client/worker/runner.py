"""Run jobmodule's workers in this process: one Temporal worker per queue, drained on a signal.

It loads the job modules, connects, registers missing search attributes and runs one worker per
queue. SIGTERM/SIGINT stop polling and let in-flight jobs finish within the grace period
(Laravel's ``queue:work`` stop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from jobmodule.activities import ALL_ACTIVITIES, registry
from jobmodule.connection import connect, ensure_search_attributes
from jobmodule.settings import JobSettings
from jobmodule.worker.monitoring import WorkerMonitoring
from jobmodule.worker.telemetry import (
    configure_trace_export,
    telemetry_options,
    tracing_configured,
)
from jobmodule.workflows import ALL_WORKFLOWS

log = logging.getLogger("jobmodule.worker")

HEARTBEAT_THROTTLE = timedelta(seconds=1)

# Our packages hold no mutable module state, so the sandbox (JOBS_WORKFLOW_SANDBOX=true) may
# share them instead of re-importing them for every workflow run.
PASSTHROUGH_MODULES = ("jobmodule", "pydantic", "pydantic_core", "opentelemetry")


def workflow_runner(settings: JobSettings, *passthrough: str) -> WorkflowRunner:
    """The sandbox when JOBS_WORKFLOW_SANDBOX is on, else the plain runner."""
    if not settings.workflow_sandbox:
        return UnsandboxedWorkflowRunner()
    modules = (*PASSTHROUGH_MODULES, *passthrough)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
    )


def build_workers(
    client: Client,
    queues: Sequence[str],
    settings: JobSettings,
    *,
    interceptors: Sequence[Interceptor] = (),
) -> list[Worker]:
    """One Worker per queue, each running every jobmodule workflow and activity."""
    runner = workflow_runner(settings)
    return [
        Worker(
            client,
            task_queue=queue,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            interceptors=interceptors,
            workflow_runner=runner,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
            # Cancellation reaches a running activity only in a heartbeat reply: a cancelled
            # batch must stop starting jobs within about a second, not 30.
            max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
            default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        )
        for queue in queues
    ]


async def run_worker(
    *,
    queues: Sequence[str],
    job_modules: Sequence[str],
    client: Client | None = None,
    settings: JobSettings | None = None,
    stop: asyncio.Event | None = None,
    own_process: bool = True,
) -> None:
    """Run workers for ``queues`` until ``stop`` is set (or SIGTERM/SIGINT), then drain them.

    ``own_process=False`` (tests, embedding) leaves the loop's signal handlers and default
    executor alone.
    """
    settings = settings or JobSettings()
    registry.load_modules(list(job_modules))
    if client is None:
        configure_trace_export(settings)
        # Spans are only worth carrying through a worker that records them (a job module or
        # JOBS_OTLP_ENDPOINT installed a tracer provider); elsewhere the interceptor is pure cost.
        tracing = settings.tracing and tracing_configured()
        client = await connect(tracing=tracing, **telemetry_options(settings))
    added = await ensure_search_attributes(client)
    if added:
        log.info("registered search attributes: %s", ", ".join(added))
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    if own_process:
        # Sync handle() methods run in threads; give them as many as the worker runs jobs.
        loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(
                max_workers=settings.max_concurrent_activities, thread_name_prefix="job"
            )
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    monitoring = WorkerMonitoring.start_for(client, queues, settings)
    workers = build_workers(
        client, queues, settings, interceptors=monitoring.interceptors if monitoring else ()
    )
    if monitoring is not None:
        workers.append(monitoring.metrics_worker(workflow_runner(settings)))
    runs = [asyncio.create_task(worker.run()) for worker in workers]
    log.info("worker polling %s with jobs %s", ",".join(queues), ", ".join(registry.names()) or "-")
    print(f"worker ready: queues={','.join(queues)} jobs={len(registry.names())}", flush=True)
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *runs], return_when=asyncio.FIRST_COMPLETED)
    if stopped in done:
        log.info(
            "stopping: draining in-flight jobs (grace %ss)", settings.graceful_shutdown_seconds
        )
        await asyncio.gather(*(worker.shutdown() for worker in workers))
    else:
        stopped.cancel()
    try:
        await asyncio.gather(*runs)
    finally:
        if monitoring is not None:
            await monitoring.stop()  # after draining: the goodbye carries the last counts
