"""The worker process: ``python worker.py --jobs app.jobs --queue high,default``.

It loads settings, connects, imports the job modules, registers missing search attributes and
runs one Temporal worker per queue. SIGTERM/SIGINT stop polling and let in-flight jobs finish
within the grace period (Laravel's ``queue:work`` stop), then the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import ALL_ACTIVITIES
from activities.registry import load_modules, registered_names
from client.connection import connect
from client.settings import JobSettings
from workflows import ALL_SEARCH_ATTRIBUTES, ALL_WORKFLOWS

log = logging.getLogger("jobmodule.worker")

HEARTBEAT_THROTTLE = timedelta(seconds=1)

# Our packages hold no mutable module state, so the sandbox (JOBS_WORKFLOW_SANDBOX=true) may
# share them instead of re-importing them for every workflow run.
PASSTHROUGH_MODULES = ("activities", "workflows", "pydantic", "pydantic_core")


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register our custom search attributes where missing; return the names added."""
    wanted = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in ALL_SEARCH_ATTRIBUTES
    }
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {k: v for k, v in wanted.items() if k not in existing.custom_attributes}
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            raise
        missing = wanted
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def workflow_runner(settings: JobSettings, *passthrough: str) -> WorkflowRunner:
    """The sandbox when JOBS_WORKFLOW_SANDBOX is on, else the plain runner."""
    if not settings.workflow_sandbox:
        return UnsandboxedWorkflowRunner()
    modules = (*PASSTHROUGH_MODULES, *passthrough)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
    )


def build_workers(client: Client, queues: Sequence[str], settings: JobSettings) -> list[Worker]:
    """One Worker per queue, each running every jobmodule workflow and activity."""
    runner = workflow_runner(settings)
    return [
        Worker(
            client,
            task_queue=queue,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
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
    load_modules(list(job_modules))
    client = client or await connect()
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
    workers = build_workers(client, queues, settings)
    runs = [asyncio.create_task(worker.run()) for worker in workers]
    log.info(
        "worker polling %s with jobs %s", ",".join(queues), ", ".join(registered_names()) or "-"
    )
    print(f"worker ready: queues={','.join(queues)} jobs={len(registered_names())}", flush=True)
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *runs], return_when=asyncio.FIRST_COMPLETED)
    if stopped in done:
        log.info(
            "stopping: draining in-flight jobs (grace %ss)", settings.graceful_shutdown_seconds
        )
        await asyncio.gather(*(worker.shutdown() for worker in workers))
    else:
        stopped.cancel()
    await asyncio.gather(*runs)


class OneLineJobFailures(logging.Filter):
    """Log a failed attempt as one line: retries are expected, and tracebacks live in history."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Completing activity as failed"):
            error = record.exc_info[1]
            record.msg = f"job attempt failed: {type(error).__name__}: {error} %s"
            record.exc_info = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Readable logs for worker processes."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("temporalio.activity").addFilter(OneLineJobFailures())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line of ``worker.py`` and ``jobs work``."""
    parser = argparse.ArgumentParser(description="Run jobmodule workers.")
    add_worker_arguments(parser)
    return parser.parse_args(argv)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker's options, shared with ``jobs work``."""
    parser.add_argument(
        "--jobs",
        default="app.jobs",
        help="comma-separated modules that define jobs (default: app.jobs)",
    )
    parser.add_argument(
        "--queue", default="default", help="comma-separated queues to poll (default: default)"
    )
    parser.add_argument("--concurrency", type=int, help="jobs run at once per queue")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes, each polling every queue (Horizon's processes; default 1)",
    )


def settings_from_args(args: argparse.Namespace) -> JobSettings:
    """JobSettings from the environment, with command-line overrides."""
    settings = JobSettings()
    if args.concurrency:
        settings = settings.model_copy(update={"max_concurrent_activities": args.concurrency})
    return settings


def split_list(value: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``."""
    return [item.strip() for item in value.split(",") if item.strip()]


def run_processes(args: argparse.Namespace) -> int:
    """Run ``--processes N`` single-process workers side by side and pass signals on to them.

    Sync ``handle()`` methods share one interpreter lock per process; CPU-bound jobs (parsing,
    imports) need more processes, as Celery's prefork pool has.
    """
    command = [sys.executable, __file__, "--jobs", args.jobs, "--queue", args.queue]
    if args.concurrency:
        command += ["--concurrency", str(args.concurrency)]
    children = [subprocess.Popen(command) for _ in range(args.processes)]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python worker.py``."""
    configure_logging()
    args = parse_args(argv)
    if args.processes > 1:
        return run_processes(args)
    asyncio.run(
        run_worker(
            queues=split_list(args.queue),
            job_modules=split_list(args.jobs),
            settings=settings_from_args(args),
        )
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ".")
    exit_code = main()
    # Skip interpreter teardown: the SDK's native threads can abort it after a clean drain.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
