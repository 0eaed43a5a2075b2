"""Batches: Laravel's then/catch/finally semantics, add, cancel, progress, retry_failed, chains."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from jobmodule import BatchClosedError, Bus, JobBatch
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, runs_that_released, update_accepted, wait_until


def roles(token: str) -> list[str]:
    return [role for role, _ in jobs.callback_runs[token]]


def callbacks(token: str) -> dict[str, jobs.RecordCallback]:
    return {
        role: jobs.RecordCallback(token=token, role=role) for role in ("then", "catch", "finally")
    }


async def dispatch_batch(items, token: str, queue: str, *, allow_failures: bool = False, **tune):
    cb = callbacks(token)
    pending = (
        Bus.batch(items)
        .then(cb["then"])
        .catch(cb["catch"])
        .finally_(cb["finally"])
        .name(f"test {token}")
        .on_queue(queue)
    )
    if allow_failures:
        pending.allow_failures()
    if tune:
        pending.tune(**tune)
    return await pending.dispatch()


async def test_all_succeed_runs_then_and_finally_once(queue: str, worker: WorkerFactory):
    token = f"ok-{queue}"
    async with worker(queue):
        batch = await dispatch_batch([jobs.Noop(token=token, i=i) for i in range(25)], token, queue)
        final = await batch.wait()
    assert roles(token) == ["then", "finally"]
    assert sorted(jobs.batch_runs[token]) == list(range(25))
    assert final.finished and not final.cancelled and not final.has_failures
    assert (final.total_jobs, final.processed_jobs, final.pending_jobs) == (25, 25, 0)
    assert final.progress == 100
    then_batch, _ = jobs.callback_runs[token][0][1]
    assert isinstance(then_batch, JobBatch) and then_batch.id == batch.id


async def test_first_failure_runs_catch_and_finally_but_not_then(queue: str, worker: WorkerFactory):
    token = f"fail-{queue}"
    async with worker(queue):
        items = [jobs.FailsIf(token=token, i=i, bad=[3]) for i in range(10)]
        final = await (await dispatch_batch(items, token, queue)).wait()
    assert roles(token) == ["catch", "finally"]
    assert final.cancelled and final.has_failures
    assert final.failed_jobs == 1 and len(final.failed_job_ids) == 1
    _, (catch_batch, failure) = jobs.callback_runs[token][0]
    assert failure.type == "RuntimeError" and failure.message == "item 3 is bad"
    assert failure.job_id == final.failed_job_ids[0]


async def test_allow_failures_keeps_going_and_skips_then(queue: str, worker: WorkerFactory):
    token = f"allow-{queue}"
    async with worker(queue):
        items = [jobs.FailsIf(token=token, i=i, bad=[1, 7]) for i in range(10)]
        final = await (await dispatch_batch(items, token, queue, allow_failures=True)).wait()
    assert roles(token) == ["catch", "finally"]
    assert not final.cancelled
    assert (final.processed_jobs, final.failed_jobs, final.pending_jobs) == (8, 2, 0)
    assert sorted(jobs.batch_runs[token]) == list(range(10))


async def test_allow_failures_with_no_failures_runs_then(queue: str, worker: WorkerFactory):
    token = f"allow-ok-{queue}"
    async with worker(queue):
        items = [jobs.Noop(token=token, i=i) for i in range(5)]
        await (await dispatch_batch(items, token, queue, allow_failures=True)).wait()
    assert roles(token) == ["then", "finally"]


async def test_first_failure_cancels_jobs_that_have_not_started(queue: str, worker: WorkerFactory):
    token = f"cancel-first-{queue}"
    async with worker(queue):
        # 3 chunks of 5, one job at a time per group: job 0 fails after 0.2 s, when all three
        # pages are in and each chunk's first job is still in its 0.6 s.
        items = [
            jobs.FailsIf(token=token, i=i, bad=[0], seconds=0.2 if i == 0 else 0.6)
            for i in range(15)
        ]
        final = await (
            await dispatch_batch(items, token, queue, chunk_size=5, group_concurrency=1)
        ).wait()
    assert final.cancelled
    assert final.total_jobs == 15
    assert (final.processed_jobs, final.failed_jobs) == (0, 1)
    assert len(jobs.batch_runs[token]) < 15


async def test_retryable_job_in_a_batch_retries_with_its_own_policy(
    queue: str, worker: WorkerFactory
):
    token = f"flaky-{queue}"
    async with worker(queue):
        items = [jobs.FlakyOnce(token=token, i=i) for i in range(4)]
        final = await (await dispatch_batch(items, token, queue)).wait()
    assert roles(token) == ["then", "finally"]
    assert final.processed_jobs == 4
    assert sorted(jobs.batch_runs[token]) == sorted(list(range(4)) * 2)


async def test_empty_batch_finishes_at_once_with_then_and_finally(
    queue: str, worker: WorkerFactory
):
    token = f"empty-{queue}"
    async with worker(queue):
        final = await (await dispatch_batch([], token, queue)).wait()
    assert roles(token) == ["then", "finally"]
    assert final.finished and final.total_jobs == 0


async def test_add_while_running_and_refused_after_finish(queue: str, worker: WorkerFactory):
    token = f"add-{queue}"
    async with worker(queue):
        items = [jobs.FailsIf(token=token, i=i, seconds=0.5) for i in range(2)]
        batch = await dispatch_batch(items, token, queue)
        status = await batch.add([jobs.Noop(token=token, i=i) for i in range(10, 13)])
        assert status.total_jobs == 5
        final = await batch.wait()
        assert final.processed_jobs == 5
        with pytest.raises(BatchClosedError, match="finished"):
            await batch.add([jobs.Noop(token=token, i=99)])
    assert sorted(jobs.batch_runs[token]) == [0, 1, 10, 11, 12]


async def _open_chunks(client: Client, batch_id: str, expected: int) -> bool:
    query = f'BatchId = "{batch_id}" AND ExecutionStatus = "Running"'
    return (await client.count_workflows(query)).count == expected


async def test_cancel_stops_pending_jobs_and_is_a_no_op_when_finished(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"cancel-{queue}"
    async with worker(queue):
        items = [jobs.FailsIf(token=token, i=i, seconds=0.5) for i in range(20)]
        batch = await dispatch_batch(items, token, queue, chunk_size=5, group_concurrency=1)
        cancelled = await batch.cancel()
        assert cancelled.cancelled
        final = await batch.wait()
        assert roles(token) == ["finally"]
        assert final.finished and final.cancelled
        assert (await batch.cancel()).cancelled  # no effect, no error
        with pytest.raises(BatchClosedError, match="cancelled|finished"):
            await batch.add([jobs.Noop(token=token)])
        # Chunks close only after their running jobs stopped; then nothing else may start.
        await wait_until(lambda: _open_chunks(client, batch.id, 0))
    assert len(jobs.batch_runs[token]) < 20


def test_non_job_item_is_a_type_error_naming_its_index():
    with pytest.raises(TypeError, match="batch item 2 is str"):
        Bus.batch([jobs.Noop(), jobs.Noop(), "nope"])


async def test_non_job_item_deep_in_a_generator_cancels_what_was_sent(
    client: Client, queue: str, worker: WorkerFactory
):
    def items():
        yield from (jobs.Noop(i=i) for i in range(5))
        yield 42

    async with worker(queue):
        with pytest.raises(TypeError, match="batch item 5 is int"):
            await Bus.batch(items()).on_queue(queue).tune(chunk_size=2).dispatch()


async def test_retry_failed_runs_failed_jobs_again_and_then_follows(
    queue: str, worker: WorkerFactory
):
    token = f"retry-{queue}"
    async with worker(queue):
        items = [jobs.FailsIf(token=token, i=i, bad=[2, 4]) for i in range(6)]
        batch = await dispatch_batch(items, token, queue, allow_failures=True)
        first = await batch.wait()
        assert first.failed_jobs == 2 and roles(token) == ["catch", "finally"]
        jobs.fixed_tokens.add(token)
        retried = await batch.retry_failed()
        assert retried.pending_jobs == 2 and retried.failed_jobs == 0
        final = await batch.wait()
    assert (final.processed_jobs, final.failed_jobs, final.failed_job_ids) == (6, 0, [])
    assert roles(token) == ["catch", "finally", "then"]
    assert sorted(jobs.batch_runs[token]) == [0, 1, 2, 2, 3, 4, 4, 5]


async def test_chain_inside_a_batch_runs_in_order(queue: str, worker: WorkerFactory):
    token = f"nested-{queue}"
    async with worker(queue):
        chain = [jobs.Noop(token=token, i=i) for i in (100, 101, 102)]
        final = await (
            await dispatch_batch([chain, jobs.Noop(token=token, i=1)], token, queue)
        ).wait()
    assert final.total_jobs == 4 and final.processed_jobs == 4
    runs = jobs.batch_runs[token]
    assert [i for i in runs if i >= 100] == [100, 101, 102]


async def test_chain_stops_at_first_failure_and_runs_catch(queue: str, worker: WorkerFactory):
    token = f"chain-{queue}"
    async with worker(queue):
        chain = await (
            Bus.chain([jobs.FailsIf(token=token, i=i, bad=[1]) for i in range(4)])
            .catch(jobs.RecordCallback(token=token, role="catch"))
            .on_queue(queue)
            .dispatch()
        )
        result = await chain.result()
    assert result.completed == 1 and result.failed_index == 1
    assert result.failure is not None and result.failure.message == "item 1 is bad"
    assert jobs.batch_runs[token] == [0, 1]
    assert roles(token) == ["catch"]


async def test_progress_survives_continue_as_new(client: Client, queue: str, worker: WorkerFactory):
    token = f"can-{queue}"
    async with worker(queue):
        items = (jobs.Noop(token=token, i=i) for i in range(300))
        batch = await dispatch_batch(
            items, token, queue, chunk_size=10, group_size=5, history_limit=100
        )
        final = await batch.wait()
        runs = [run async for run in client.list_workflows(f'WorkflowId = "{batch.id}"')]
    assert len(runs) > 1  # it continued as new at least once
    assert (final.total_jobs, final.processed_jobs, final.pending_jobs) == (300, 300, 0)
    assert sorted(jobs.batch_runs[token]) == list(range(300))
    assert roles(token) == ["then", "finally"]


async def test_wait_in_flight_rides_through_continue_as_new(
    client: Client, queue: str, worker: WorkerFactory
):
    """A ``wait()`` accepted before the batch continues as new must not hold the batch back."""
    token = f"wait-can-{queue}"
    first, last = f"{token}-first", f"{token}-last"
    items = [jobs.Gated(token=token, i=i, gate=first if i < 140 else last) for i in range(150)]
    async with worker(queue):
        # One job per chunk: the reports of the first 140 take the run that accepted wait()
        # past history_limit while the last 10 are still open, so it must continue as new.
        batch = await dispatch_batch(items, token, queue, chunk_size=1, history_limit=100)
        waiting = asyncio.create_task(batch.wait())
        await wait_until(lambda: update_accepted(client, batch.id, "wait_finished"))
        jobs.gates[first].set()
        await wait_until(lambda: runs_that_released(client, batch.id, "wait_finished"))
        assert not waiting.done()
        jobs.gates[last].set()
        final = await asyncio.wait_for(waiting, timeout=60)
    assert final.finished and (final.processed_jobs, final.pending_jobs) == (150, 0)
    assert sorted(jobs.batch_runs[token]) == list(range(150))
    assert roles(token) == ["then", "finally"]


async def test_a_batch_cancelled_while_its_pages_stream_in_still_returns_its_handle(
    client: Client, server_address: str, queue: str, spawn_worker
):
    spawn_worker(queue)  # another process: it keeps working while the generator below blocks
    token = f"cancel-streaming-{queue}"
    cancelled = f'TaskQueue = "{queue}" AND JobClass = "batch" AND JobStatus = "cancelled"'

    async def until_cancelled() -> None:
        own = await Client.connect(server_address)  # this thread's own loop and connection

        async def count() -> int:
            return (await own.count_workflows(cancelled)).count

        await wait_until(count, interval=0.1)

    def items() -> Iterator[jobs.FailsIf]:
        for i in range(15):
            if i == 11:  # page 1 (jobs 0-4) has started the batch; its job 0 fails for good
                waiter = threading.Thread(target=asyncio.run, args=(until_cancelled(),))
                waiter.start()
                waiter.join(timeout=30)
            yield jobs.FailsIf(token=token, i=i, bad=[0])

    batch = await Bus.batch(items()).on_queue(queue).tune(chunk_size=5).dispatch()
    final = await batch.wait()
    assert final.cancelled
    assert final.failed_jobs == 1
    assert final.total_jobs < 15  # the pages refused after the cancel never became jobs
