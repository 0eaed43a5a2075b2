"""Record workflow histories for the replay tests: ``python -m tests.record_histories``.

Run it only when a workflow changes *on purpose* in a compatible way, or to add scenarios; the
saved histories are the shipped behaviour that later code must still replay.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from client import FailureHandler, JobModuleError, set_default_client
from client.dev_server import temporal_binary
from tests import jobs
from worker import ensure_search_attributes, run_worker

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "record"


async def scenario_success(client: Client) -> str:
    job = await jobs.Add.dispatch(a=1, b=2).on_queue(QUEUE)
    await job.result()
    return job.id


async def scenario_retries(client: Client) -> str:
    job = await jobs.FlakyTwice.dispatch(token="record").on_queue(QUEUE).backoff(0)
    await job.result()
    return job.id


async def scenario_dead_letter_retry(client: Client) -> str:
    marker = Path(tempfile.mkdtemp()) / "marker"
    job = await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(QUEUE)
    await _expect_failure(job.result())
    marker.touch()
    await FailureHandler(client).retry(job.id)
    await job.result()
    return job.id


async def scenario_dead_letter_forget(client: Client) -> str:
    job = await jobs.AlwaysFails.dispatch(token="record").on_queue(QUEUE)
    await _expect_failure(job.result())
    await FailureHandler(client).forget(job.id)
    await _expect_failure(job.result())
    return job.id


async def _expect_failure(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except JobModuleError:
        return
    raise AssertionError("expected the job to fail")


SCENARIOS: dict[str, Callable[[Client], Awaitable[str]]] = {
    "job_success": scenario_success,
    "job_retries": scenario_retries,
    "job_dead_letter_retry": scenario_dead_letter_retry,
    "job_dead_letter_forget": scenario_dead_letter_forget,
}


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=pydantic_data_converter
    )
    await ensure_search_attributes(env.client)
    set_default_client(env.client)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(
            queues=[QUEUE],
            job_modules=["tests.jobs"],
            client=env.client,
            stop=stop,
            own_process=False,
        )
    )
    HISTORIES.mkdir(exist_ok=True)
    try:
        for name, scenario in SCENARIOS.items():
            job_id = await scenario(env.client)
            history = await env.client.get_workflow_handle(job_id).fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())
            print(f"recorded {name}: {len(history.events)} events")
    finally:
        stop.set()
        await worker
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
