"""Run jobmodule's workers in this process, and drain them on a signal.

It loads the job modules, connects (waiting for a server that is down), registers missing
search attributes and runs, per queue, one Temporal worker for jobs and one for workflow tasks.
SIGTERM/SIGINT, a recycle limit or a tainted process start a drain that settles
(``jobmodule.worker.drain``): running jobs finish within the grace period and their workflows
record the results before the process exits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import (
    FixedSizeSlotSupplier,
    Interceptor,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkerTuner,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from jobmodule.activities import ALL_ACTIVITIES, registry
from jobmodule.activities.health import TAINTED_EXIT_CODE, process_health
from jobmodule.connection import connect, ensure_search_attributes
from jobmodule.errors import ServerUnreachableError
from jobmodule.notifications import NotificationService
from jobmodule.settings import JobSettings
from jobmodule.worker.drain import FinishedJobs, drain, drain_tainted
from jobmodule.worker.life import RecycleLimits, SupervisorLink, WorkerLife, exit_tainted
from jobmodule.worker.monitoring import WorkerMonitoring
from jobmodule.worker.slots import QueueShare, SharedSlotSupplier, parse_queues
from jobmodule.worker.telemetry import (
    configure_trace_export,
    telemetry_options,
    tracing_configured,
)
from jobmodule.workflows import ALL_WORKFLOWS

log = logging.getLogger("jobmodule.worker")

HEARTBEAT_THROTTLE = timedelta(seconds=1)
TAINTED_GOODBYE_SECONDS = 2.0
"""A tainted process says goodbye to monitoring for at most this long before it ends."""
SERVER_WAIT_MAX_SECONDS = 5.0
"""A worker started while the server is down tries again at most this far apart."""

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


@dataclass
class ProcessWorkers:
    """The Temporal workers of one process: per queue, one for jobs and one for workflows."""

    jobs: list[Worker]
    workflows: list[Worker]

    @property
    def all(self) -> list[Worker]:
        return [*self.jobs, *self.workflows]


def build_workers(
    client: Client,
    queues: Sequence[str],
    settings: JobSettings,
    *,
    interceptors: Sequence[Interceptor] = (),
) -> ProcessWorkers:
    """Per queue, a worker for jobs (remote activities) and one for workflow tasks.

    Apart, so that a drain can stop taking jobs while it still records their results. The
    workflow worker runs local activities (``.local()`` jobs) itself, in its own task. Several
    queues share one job budget in their ``--queue`` order (``jobmodule.worker.slots``); a
    single queue keeps the SDK's fixed-size slots.
    """
    runner = workflow_runner(settings)
    grace = timedelta(seconds=settings.graceful_shutdown_seconds)
    shares = parse_queues(queues)
    slots = job_slot_options(shares, settings)
    jobs = [
        Worker(
            client,
            task_queue=share.name,
            activities=ALL_ACTIVITIES,
            interceptors=interceptors,
            **slots,
            graceful_shutdown_timeout=grace,
            # Cancellation reaches a running activity only in a heartbeat reply: a cancelled
            # batch must stop starting jobs within about a second, not 30.
            max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
            default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        )
        for share in shares
    ]
    workflows = [
        Worker(
            client,
            task_queue=share.name,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            no_remote_activities=True,
            workflow_runner=runner,
            max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
            max_concurrent_local_activities=settings.max_concurrent_activities,
            graceful_shutdown_timeout=grace,
        )
        for share in shares
    ]
    return ProcessWorkers(jobs=jobs, workflows=workflows)


def job_slot_options(shares: Sequence[QueueShare], settings: JobSettings) -> dict[str, Any]:
    """Job worker keyword arguments for its slots: one tuner for all when it polls several
    queues. Built once and given to every queue's job worker: the budget is the supplier's."""
    if len(shares) == 1 and shares[0].weight is None:
        return {"max_concurrent_activities": settings.max_concurrent_activities}
    supplier = SharedSlotSupplier(shares, settings.max_concurrent_activities)
    tuner = WorkerTuner.create_composite(
        workflow_supplier=FixedSizeSlotSupplier(settings.max_concurrent_workflow_tasks),
        activity_supplier=supplier,
        local_activity_supplier=FixedSizeSlotSupplier(settings.max_concurrent_activities),
        nexus_supplier=FixedSizeSlotSupplier(settings.max_concurrent_activities),
    )
    return {"tuner": tuner}


async def connect_when_up(stop: asyncio.Event, **options: Any) -> Client | None:
    """Connect, registering our search attributes; while the server is down, wait and retry.

    Returns None when ``stop`` is set first. ``options`` go to ``connect``.
    """
    delay = 0.25
    announced = False
    while not stop.is_set():
        try:
            client = await connect(**options)
            added = await ensure_search_attributes(client)
            if added:
                log.info("registered search attributes: %s", ", ".join(added))
            if announced:
                log.info("the Temporal server is reachable again")
            return client
        except ServerUnreachableError as error:
            reason = str(error.address)
        except RPCError as error:
            if error.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise
            reason = error.message
        if not announced:
            log.warning("waiting for the Temporal server (%s); retrying", reason)
            announced = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, SERVER_WAIT_MAX_SECONDS)
    return None


def slot_options(shares: Sequence[QueueShare], settings: JobSettings) -> dict[str, Any]:
    """Worker keyword arguments for its slots: one tuner for all when it polls several queues.

    Build it once and give the same to every queue's Worker: the budget is the supplier's.
    """
    if len(shares) == 1 and shares[0].weight is None:
        return {
            "max_concurrent_activities": settings.max_concurrent_activities,
            "max_concurrent_workflow_tasks": settings.max_concurrent_workflow_tasks,
        }
    supplier = SharedSlotSupplier(shares, settings.max_concurrent_activities)
    tuner = WorkerTuner.create_composite(
        workflow_supplier=FixedSizeSlotSupplier(settings.max_concurrent_workflow_tasks),
        activity_supplier=supplier,
        local_activity_supplier=FixedSizeSlotSupplier(settings.max_concurrent_activities),
        nexus_supplier=FixedSizeSlotSupplier(settings.max_concurrent_activities),
    )
    return {"tuner": tuner}


async def run_worker(
    *,
    queues: Sequence[str],
    job_modules: Sequence[str],
    client: Client | None = None,
    settings: JobSettings | None = None,
    stop: asyncio.Event | None = None,
    own_process: bool = True,
    limits: RecycleLimits | None = None,
) -> int:
    """Run workers for ``queues`` until ``stop`` is set (or SIGTERM/SIGINT), then drain them.

    Returns the process's exit code, 0. With ``own_process`` (the default), a process tainted
    by a job it could not stop ends itself with ``TAINTED_EXIT_CODE`` after its drain (the job's
    thread is still running). ``own_process=False`` (tests, embedding) leaves the loop's signal
    handlers, its default executor and the process alone.
    """
    settings = settings or JobSettings()
    registry.load_modules(list(job_modules))
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
    if client is None:
        configure_trace_export(settings)
        # Spans are only worth carrying through a worker that records them (a job module or
        # JOBS_OTLP_ENDPOINT installed a tracer provider); elsewhere the interceptor is pure cost.
        tracing = settings.tracing and tracing_configured()
        client = await connect_when_up(stop, tracing=tracing, **telemetry_options(settings))
        if client is None:
            return 0
    else:
        await ensure_search_attributes(client)
    names = [share.name for share in parse_queues(queues)]
    finished = FinishedJobs()
    life = WorkerLife(limits or RecycleLimits(), stop, SupervisorLink.from_environment())
    finished.on_jobs_finished(life.jobs_finished)
    if own_process:
        process_health.on_taint(life.tainted)
    monitoring = WorkerMonitoring.start_for(client, names, settings)
    notifications = NotificationService.for_worker(client, settings)
    interceptors = [finished, *(monitoring.interceptors if monitoring else ())]
    workers = build_workers(client, queues, settings, interceptors=interceptors)
    if monitoring is not None:
        # Stopped with the workflow workers, after the jobs: a drain still records its results.
        workers.workflows.append(monitoring.metrics_worker(workflow_runner(settings)))
    if notifications is not None:
        workers.workflows.append(notifications.worker(workflow_runner(settings)))
        await notifications.ensure_running()
    runs = [asyncio.create_task(worker.run()) for worker in workers.all]
    watching = asyncio.create_task(life.watch())
    log.info("worker polling %s with jobs %s", ",".join(names), ", ".join(registry.names()) or "-")
    print(f"worker ready: queues={','.join(names)} jobs={len(registry.names())}", flush=True)
    life.ready()
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *runs], return_when=asyncio.FIRST_COMPLETED)
    if stopped not in done:
        stopped.cancel()
        watching.cancel()
        try:
            await asyncio.gather(*runs)  # a worker failed: raise its error
        finally:
            if monitoring is not None:
                await monitoring.stop()
        return 0
    grace = settings.graceful_shutdown_seconds
    log.info("stopping: draining in-flight jobs (grace %ss)", grace)
    if process_health.tainted and own_process:
        await drain_tainted(
            client=client,
            job_workers=workers.jobs,
            finished=finished,
            stuck=process_health.stuck,
            grace=grace,
            settle_limit=settings.drain_settle_seconds,
        )
        if monitoring is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(monitoring.stop(), TAINTED_GOODBYE_SECONDS)
        exit_tainted(TAINTED_EXIT_CODE)
    await drain(
        client=client,
        job_workers=workers.jobs,
        workflow_workers=workers.workflows,
        finished=finished,
        grace=grace,
        settle_limit=settings.drain_settle_seconds,
    )
    watching.cancel()
    try:
        await asyncio.gather(*runs)
    finally:
        if monitoring is not None:
            await monitoring.stop()  # after draining: the goodbye carries the last counts
    log.info("drained: every job this worker finished has been recorded")
    return 0
