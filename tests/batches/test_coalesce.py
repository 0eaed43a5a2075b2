"""Coalesced dispatch: concurrent ``.coalesce()`` dispatches share one carrier batch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from jobmodule import (
    CoalescedJobHandle,
    FailureHandler,
    JobCancelledError,
    JobDeadLetteredError,
    JobHandle,
    JobState,
    job_handle,
)
from jobmodule.batches.bus import Bus
from jobmodule.batches.coalesce import CARRIER_JOBS
from jobmodule.batches.handle import BatchHandle
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, wait_until


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def test_concurrent_coalesced_dispatches_run_in_one_carrier_without_a_workflow_each(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"coalesce-{queue}"
    async with worker(queue):
        handles = await asyncio.gather(
            *(jobs.Noop.dispatch(token=token, i=i).on_queue(queue).coalesce() for i in range(50))
        )
        assert all(isinstance(handle, CoalescedJobHandle) for handle in handles)
        [carrier] = {handle.batch_id for handle in handles}
        assert len({handle.id for handle in handles}) == 50
        outcomes = await asyncio.gather(*(handle.outcome() for handle in handles))
        assert {outcome.state for outcome in outcomes} == {JobState.SUCCEEDED}
        assert await handles[7].result() is None  # a coalesced job keeps no return value
        batch = await Bus.find_batch(carrier)
        assert (batch.total_jobs, batch.processed_jobs, batch.failed_jobs) == (50, 50, 0)
    assert sorted(jobs.batch_runs[token]) == list(range(50))
    # With no worker left, and looked up by id alone (``jobmodule status ID``): the id names the
    # carrier, and the answer comes from the server's descriptions.
    assert await handles[7].status() == JobState.SUCCEEDED
    assert await job_handle(handles[7].id, client).status() == JobState.SUCCEEDED
    assert await _count(client, f'TaskQueue = "{queue}" AND WorkflowType = "JobWorkflow"') == 0


async def test_a_coalesced_job_that_fails_for_good_is_dead_lettered_under_its_handle_id(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"coalesce-dlq-{queue}"
    async with worker(queue):
        failing, passing = await asyncio.gather(
            jobs.AlwaysFails.dispatch(token=token).on_queue(queue).coalesce(),
            jobs.Noop.dispatch(token=token, i=1).on_queue(queue).coalesce(),
        )
        assert isinstance(failing, CoalescedJobHandle) and isinstance(passing, CoalescedJobHandle)
        assert failing.batch_id == passing.batch_id
        with pytest.raises(JobDeadLetteredError) as raised:
            await failing.result()
        assert raised.value.failure is not None
        assert raised.value.failure.type == "ValueError"
        assert raised.value.failure.attempts == 2  # its own tries, not the carrier's
        assert await failing.status() == JobState.DEAD_LETTERED
        assert await passing.result() is None

        [entry] = await wait_until(lambda: FailureHandler().using(client).list(queue=queue))
        assert entry.id == failing.id
        assert entry.job == "tests.sample_jobs.AlwaysFails"
        assert entry.payload == {"token": token}
        assert entry.attempts == 2
        # The carrier closed: it does not wait for a retry_failed() that would never come.
        carrier = client.get_workflow_handle(failing.batch_id)
        assert (await carrier.describe()).close_time is not None
    assert len(jobs.attempt_times[token]) == 2  # parked without running a third time
    [hook_call] = jobs.failed_calls[token]
    assert hook_call.type == "ValueError" and hook_call.attempts == 2


async def test_a_dead_lettered_coalesced_job_is_retried_through_its_handle(
    queue: str, worker: WorkerFactory, tmp_path: Path
):
    marker = tmp_path / "fixed"
    async with worker(queue):
        job = await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(queue).coalesce()
        with pytest.raises(JobDeadLetteredError):
            await job.result()
        marker.touch()
        await job.retry()
        assert await job.result() == "fixed"  # run as its own workflow now: it has a result
        assert await job.status() == JobState.SUCCEEDED


async def test_dispatches_that_need_their_own_workflow_are_not_coalesced(
    queue: str, worker: WorkerFactory
):
    async with worker(queue):
        delayed, local, unique = await asyncio.gather(
            jobs.Add.dispatch(a=1).on_queue(queue).delay(0.1).coalesce(),
            jobs.Add.dispatch(a=2).on_queue(queue).local().coalesce(),
            jobs.Add.dispatch(a=3).on_queue(queue).unique(f"u-{queue}").coalesce(),
        )
        for handle in (delayed, local, unique):
            assert type(handle) is JobHandle
        assert [await h.result() for h in (delayed, local, unique)] == [1, 2, 3]


async def test_a_flood_of_dispatches_is_cut_into_carriers_of_at_most_a_chunk(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"coalesce-many-{queue}"
    count = CARRIER_JOBS + 1
    async with worker(queue):
        handles = await asyncio.gather(
            *(
                jobs.Noop.dispatch(token=token, i=i).on_queue(queue).coalesce(window=1.0)
                for i in range(count)
            )
        )
        carriers = {handle.batch_id for handle in handles if isinstance(handle, CoalescedJobHandle)}
        assert len(carriers) == 2
        batches = await asyncio.gather(
            *(BatchHandle(id=carrier, client=client).wait() for carrier in carriers)
        )
        assert sorted(batch.total_jobs for batch in batches) == [1, CARRIER_JOBS]
        assert sum(batch.processed_jobs for batch in batches) == count
    assert sorted(jobs.batch_runs[token]) == list(range(count))


def test_a_negative_window_is_refused_before_anything_is_sent():
    with pytest.raises(ValueError, match="coalesce window"):
        jobs.Noop.dispatch().coalesce(window=-1)


async def test_a_coalesced_job_whose_carrier_was_cancelled_reads_cancelled(
    queue: str, worker: WorkerFactory
):
    token = f"coalesce-cancel-{queue}"
    jobs.gates[token] = asyncio.Event()  # never set: the jobs wait until the cancel
    async with worker(queue):
        first, second = await asyncio.gather(
            *(jobs.Gated.dispatch(token=token, i=i).on_queue(queue).coalesce() for i in range(2))
        )
        assert isinstance(first, CoalescedJobHandle)
        await BatchHandle(id=first.batch_id, client=first.client).cancel()
        with pytest.raises(JobCancelledError, match="carrier batch .* was cancelled"):
            await first.outcome()
        assert await second.status() == JobState.CANCELLED
