"""``JobService``: search, find and cancel, against the real server and worker."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from jobmodule import Bus, JobModuleError, JobNotFoundError, JobService, JobState
from tests import sample_jobs as jobs
from tests.cli.test_commands import jobs_cli
from tests.conftest import WorkerFactory, wait_until


async def test_a_search_by_queue_and_status_finds_what_ran(
    client: Client, queue: str, worker: WorkerFactory
):
    service = JobService().using(client)
    token = f"search-{queue}"
    async with worker(queue):
        done = [await jobs.Add.dispatch(a=i).on_queue(queue) for i in range(3)]
        failing = await jobs.AlwaysFails.dispatch(token=token).on_queue(queue)
        for handle in done:
            await handle.outcome()
        await failing.outcome()

    async def listed(status: JobState | None = None) -> set[str]:
        page = await service.list(queue=queue, status=status)
        return {row.id for row in page.jobs}

    await wait_until(lambda: _has(listed(), 4))
    assert await listed(JobState.SUCCEEDED) == {handle.id for handle in done}
    assert await listed(JobState.DEAD_LETTERED) == {failing.id}
    page = await service.list(queue=queue, job="tests.sample_jobs.AlwaysFails")
    [row] = page.jobs
    assert row.failure is not None and row.failure.message == f"boom {token}"
    assert row.attempts == 2

    found = await service.find(failing.id)
    assert found.payload == {"token": token}
    assert found.status == JobState.DEAD_LETTERED
    assert found.attempts == 2
    assert found.failure is not None and found.failure.traceback
    assert "raise ValueError" in found.failure.traceback
    assert found.workflow_id == failing.id and found.run_id


async def _has(rows: object, count: int) -> bool:
    return len(await rows) >= count  # type: ignore[misc]


async def test_a_search_tells_queued_from_running(
    client: Client, queue: str, worker: WorkerFactory
):
    service = JobService().using(client)
    waiting = await jobs.Add.dispatch(a=1).on_queue(f"{queue}-nobody")
    token = f"running-{queue}"
    async with worker(queue):
        running = await jobs.Gated.dispatch(token=token).on_queue(queue)

        async def state_of(job_id: str, on: str) -> JobState | None:
            page = await service.list(queue=on, status=None)
            return next((row.status for row in page.jobs if row.id == job_id), None)

        await wait_until(lambda: _equals(state_of(running.id, queue), JobState.RUNNING))
        assert [row.id for row in (await service.list(queue=queue, status="running")).jobs] == [
            running.id
        ]
        assert (await service.list(queue=queue, status="queued")).jobs == []
        assert await state_of(waiting.id, f"{queue}-nobody") == JobState.QUEUED
        assert (await service.find(running.id)).attempts == 1
        jobs.gates[token].set()
        await running.outcome()


async def _equals(value: object, expected: object) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_a_batch_search_lists_every_job_in_order_with_its_failures(
    client: Client, queue: str, worker: WorkerFactory
):
    service = JobService().using(client)
    token = f"batch-search-{queue}"
    items = [jobs.FailsIf(token=token, i=i, bad=[3]) for i in range(5)]
    async with worker(queue):
        batch = await (
            Bus.batch(items).on_queue(queue).allow_failures().tune(chunk_size=2).dispatch()
        )
        await batch.wait()
    page = await service.list(batch_id=batch.id, limit=10)
    # In the batch's order: chunk by chunk (pages of a batch may reach it in any order).
    order = [row.payload["i"] for row in page.jobs if row.payload]
    assert sorted(order) == [0, 1, 2, 3, 4]
    states = {row.payload["i"]: row.status for row in page.jobs if row.payload}
    assert states == {i: JobState.SUCCEEDED for i in (0, 1, 2, 4)} | {3: JobState.DEAD_LETTERED}
    [failed] = [row for row in page.jobs if row.status == JobState.DEAD_LETTERED]
    assert failed.failure is not None and failed.failure.message == "item 3 is bad"
    assert {row.batch_id for row in page.jobs} == {batch.id}
    assert page.next_page_token is None

    seen: list[int] = []
    token_: str | None = None
    while True:
        part = await service.list(batch_id=batch.id, limit=2, page_token=token_)
        seen.extend(row.payload["i"] for row in part.jobs if row.payload)
        token_ = part.next_page_token
        if token_ is None:
            break
    assert seen == order
    assert [
        row.id for row in (await service.list(batch_id=batch.id, status="dead_lettered")).jobs
    ] == [failed.id]
    # A batch job is found by its id too, failed (parked) or not.
    assert (await service.find(failed.id)).status == JobState.DEAD_LETTERED
    first = await service.find(page.jobs[0].id)
    assert first.status == JobState.SUCCEEDED and first.payload == items[order[0]].model_dump()
    # Failed batch jobs appear in the search across every job as well.
    everywhere = await service.list(queue=queue, status="dead_lettered")
    assert [row.id for row in everywhere.jobs] == [failed.id]


async def test_cancel_closes_a_waiting_job_and_a_running_one_as_cancelled(
    client: Client, queue: str, worker: WorkerFactory
):
    service = JobService().using(client)
    token = f"cancel-{queue}"
    waiting = await jobs.Gated.dispatch(token=f"{token}-never").on_queue(queue)
    # Nobody polls the queue yet: the cancel waits in the history for the first worker, which
    # closes the job without running it.
    assert (await service.cancel(waiting.id)).status == JobState.CANCELLED
    async with worker(queue):
        await wait_until(lambda: _equals(waiting.status(), JobState.CANCELLED))
        assert jobs.batch_runs[f"{token}-never"] == []

        running = await jobs.Gated.dispatch(token=token).on_queue(queue)
        await wait_until(lambda: _equals(running.status(), JobState.RUNNING))
        await service.cancel(running.id)
        await wait_until(lambda: _equals(running.status(), JobState.CANCELLED))
        jobs.gates[token].set()
    page = await service.list(status="cancelled", since=None, limit=1000)
    assert {waiting.id, running.id} <= {row.id for row in page.jobs}
    with pytest.raises(JobModuleError, match="cancelled already"):
        await service.cancel(running.id)


async def test_bad_searches_fail_clearly(client: Client):
    service = JobService().using(client)
    with pytest.raises(JobNotFoundError, match="nope-123"):
        await service.find("nope-123")
    with pytest.raises(ValueError, match="unknown job status 'done'"):
        await service.list(status="done")
    with pytest.raises(ValueError, match="limit must be between 1 and 1000"):
        await service.list(limit=0)
    with pytest.raises(ValueError, match="not from this search"):
        await service.list(page_token="zzz")


async def test_the_cli_searches_shows_and_cancels(
    server_address: str, client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        done = await jobs.Add.dispatch(a=41, b=1).on_queue(queue)
        await done.outcome()
    waiting = await jobs.Add.dispatch(a=1).on_queue(queue)
    code, out, _ = await jobs_cli(server_address, "jobs", "--queue", queue, "--json")
    assert code == 0
    rows = {row["id"]: row["status"] for row in json.loads(out)["jobs"]}
    assert rows == {done.id: "succeeded", waiting.id: "queued"}
    code, out, _ = await jobs_cli(server_address, "jobs", "--queue", queue, "--status", "queued")
    assert code == 0 and waiting.id in out and done.id not in out
    code, out, _ = await jobs_cli(server_address, "job", done.id)
    assert code == 0 and '"a": 41' in out and "succeeded" in out
    code, out, _ = await jobs_cli(server_address, "cancel", waiting.id)
    assert code == 0 and "cancel requested" in out
    code, _, err = await jobs_cli(server_address, "cancel", done.id)
    assert code == 2 and "succeeded already" in err
