"""Every failure is in one dead-letter queue, with its stack, grouped by its cause."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client

from jobmodule import Bus, FailureHandler
from tests.conftest import WorkerFactory, wait_until
from tests.failures import root_cause_jobs as causes

MODULES = ["tests.sample_jobs", "tests.failures.root_cause_jobs"]


async def test_failures_fall_in_groups_by_cause_and_a_group_retries_in_one_go(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"groups-{queue}"
    dlq = FailureHandler().using(client)
    async with worker(queue, modules=MODULES):
        await asyncio.gather(
            *(
                causes.ImportsRow.dispatch(token=token, row=row).on_queue(queue)
                for row in (17, 4711, 3, 99)
            ),
            *(causes.LooksUpKey.dispatch(token=token).on_queue(queue) for _ in range(2)),
        )
        await wait_until(lambda: _parked(dlq, queue, 6), timeout=30)
        rows, key = await dlq.groups(queue=queue), None
        assert [group.count for group in rows] == [4, 2]
        bad_rows, missing = rows
        assert bad_rows.exception_type == "ValueError" and bad_rows.pattern == "bad row <n>"
        assert bad_rows.frame is not None and "in parse_row" in bad_rows.frame
        assert missing.exception_type == "KeyError" and missing.sample_message == "'missing'"
        assert len(bad_rows.sample_job_ids) == 4
        assert (await dlq.groups(queue=queue))[0].id == bad_rows.id  # stable
        # Found among the newest 3 parked jobs only, but each counted exactly.
        scanned = {group.id: group.count for group in await dlq.groups(queue=queue, scan=3)}
        assert scanned and scanned.items() <= {bad_rows.id: 4, missing.id: 2}.items()
        causes.fixed.add(token)
        assert await dlq.retry_group(bad_rows.id) == 4
        await wait_until(lambda: _parked(dlq, queue, 2), timeout=30)
        key = (await dlq.groups(queue=queue))[0]
    assert key.id == missing.id and key.count == 2
    assert causes.runs[token] == 8  # four failed, then those four ran again


async def test_a_failed_job_keeps_its_traceback_and_own_frame(
    client: Client, queue: str, worker: WorkerFactory
):
    dlq = FailureHandler().using(client)
    async with worker(queue, modules=MODULES):
        await causes.ImportsRow.dispatch(token=f"trace-{queue}", row=5).on_queue(queue)
        [row] = await wait_until(lambda: dlq.list(queue=queue), timeout=30)
    assert row.traceback is not None
    assert "tests/failures/root_cause_jobs.py" in row.traceback and "in handle" in row.traceback
    assert "ValueError: bad row 5" in row.traceback
    assert row.frame is not None and row.frame.endswith("in parse_row")


async def test_a_failed_batch_job_waits_in_the_queue_with_its_batch_and_retries_from_there(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"batch-dlq-{queue}"
    dlq = FailureHandler().using(client)
    async with worker(queue, modules=MODULES):
        batch = await (
            Bus.batch(
                [
                    causes.ImportsRow(token=f"{token}-ok", row=1),
                    causes.ImportsRow(token=token, row=2),
                ]
            )
            .allow_failures()
            .on_queue(queue)
            .dispatch()
        )
        causes.fixed.add(f"{token}-ok")
        first = await batch.wait()
        [failed_id] = first.failed_job_ids
        [row] = await wait_until(lambda: dlq.list(queue=queue), timeout=30)
        assert (row.id, row.batch_id) == (failed_id, batch.id)
        causes.fixed.add(token)
        await dlq.retry(failed_id)
        recovered = await wait_until(lambda: _without(batch, failed_id), timeout=30)
    assert (recovered.processed_jobs, recovered.failed_jobs) == (2, 0)
    assert await dlq.list(queue=queue) == []


async def test_prune_forgets_only_the_jobs_that_failed_before_the_cutoff(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"prune-{queue}"
    dlq = FailureHandler().using(client)
    async with worker(queue, modules=MODULES):
        old = await causes.LooksUpKey.dispatch(token=token).on_queue(queue)
        await wait_until(lambda: _parked(dlq, queue, 1), timeout=30)
        await asyncio.sleep(4)  # the cutoff needs time between the two failures
        new = await causes.LooksUpKey.dispatch(token=token).on_queue(queue)
        await wait_until(lambda: _parked(dlq, queue, 2), timeout=30)
        assert await dlq.prune(older_than=timedelta(seconds=2.5), queue=queue) == 1
        remaining = await wait_until(lambda: _left(dlq, queue, 1), timeout=30)
    assert [row.id for row in remaining] == [new.id] and old.id != new.id


async def _parked(dlq: FailureHandler, queue: str, count: int) -> bool:
    return await dlq.count(queue=queue) == count


async def _left(dlq: FailureHandler, queue: str, count: int) -> list:
    rows = await dlq.list(queue=queue)
    return rows if len(rows) == count else []


async def _without(batch, job_id: str):
    status = await batch.status()
    return status if job_id not in status.failed_job_ids and status.failed_jobs == 0 else None
