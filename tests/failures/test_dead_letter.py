"""The dead-letter queue: failed() once, parking, retry, forget, and their bulk forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from jobmodule import (
    FailureHandler,
    JobDeadLetteredError,
    JobForgottenError,
    JobHandle,
    JobState,
    NotDeadLetteredError,
)
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, wait_until


async def test_job_that_always_fails_is_dead_lettered_after_failed_hook_ran_once(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"dlq-{queue}"
    async with worker(queue):
        job = await jobs.AlwaysFails.dispatch(token=token).on_queue(queue)
        with pytest.raises(JobDeadLetteredError) as raised:
            await job.result()
        assert raised.value.failure is not None
        assert raised.value.failure.type == "ValueError"
        assert raised.value.failure.message == f"boom {token}"
        assert raised.value.failure.attempts == 2
        assert await job.status() == JobState.DEAD_LETTERED

        failed = await wait_until(lambda: FailureHandler().using(client).list(queue=queue))
        [entry] = failed
        assert entry.id == job.id
        assert entry.job == "tests.sample_jobs.AlwaysFails"
        assert entry.queue == queue
        assert entry.payload == {"token": token}
        assert entry.exception == f"ValueError: boom {token}"
        assert entry.attempts == 2
    assert len(jobs.attempt_times[token]) == 2
    [hook_call] = jobs.failed_calls[token]
    assert hook_call.type == "ValueError" and hook_call.attempts == 2


async def test_retry_runs_a_dead_lettered_job_again_and_it_leaves_the_queue(
    client: Client, queue: str, worker: WorkerFactory, tmp_path: Path
):
    marker = tmp_path / "fixed"
    async with worker(queue):
        job = await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(queue)
        with pytest.raises(JobDeadLetteredError):
            await job.result()
        marker.touch()  # the operator fixes the cause...
        await FailureHandler().using(client).retry(job.id)  # ...and retries
        assert await job.result() == "fixed"
        assert await job.status() == JobState.SUCCEEDED
        assert await FailureHandler().using(client).list(queue=queue) == []


async def test_forget_closes_a_dead_lettered_job(client: Client, queue: str, worker: WorkerFactory):
    token = f"forget-{queue}"
    async with worker(queue):
        job = await jobs.AlwaysFails.dispatch(token=token).on_queue(queue)
        with pytest.raises(JobDeadLetteredError):
            await job.result()
        await FailureHandler().using(client).forget(job.id)
        with pytest.raises(JobForgottenError):
            await job.result()
        assert await job.status() == JobState.FORGOTTEN
        assert await FailureHandler().using(client).list(queue=queue) == []


async def test_retry_of_a_job_that_is_not_dead_lettered_is_refused(
    client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        job = await jobs.Add.dispatch(a=1).on_queue(queue)
        assert await job.result() == 1
        with pytest.raises(NotDeadLetteredError):
            await FailureHandler().using(client).retry(job.id)
    with pytest.raises(NotDeadLetteredError):
        await JobHandle(id="no-such-job", client=client).forget()


async def test_fail_goes_straight_to_the_dead_letter_queue_without_retries(
    queue: str, worker: WorkerFactory
):
    token = f"giveup-{queue}"
    async with worker(queue):
        job = await jobs.GivesUp.dispatch(token=token).on_queue(queue)
        with pytest.raises(JobDeadLetteredError) as raised:
            await job.result()
    assert raised.value.failure is not None
    assert raised.value.failure.type == "JobFailed"
    assert "bad record" in raised.value.failure.message
    assert len(jobs.attempt_times[token]) == 1


async def test_payload_that_no_longer_validates_is_dead_lettered_at_once(
    client: Client, queue: str, worker: WorkerFactory
):
    from jobmodule.workflows import JobInput, JobWorkflow

    async with worker(queue):
        handle = await client.start_workflow(
            JobWorkflow.run,
            JobInput(
                job="tests.sample_jobs.Add",
                payload={"a": "not a number"},
                policy=jobs.Add.default_policy().model_copy(update={"queue": queue, "tries": 5}),
            ),
            id=f"stale-{queue}",
            task_queue=queue,
        )
        job = JobHandle(id=handle.id, client=client)
        with pytest.raises(JobDeadLetteredError) as raised:
            await job.result()
    assert raised.value.failure is not None
    assert raised.value.failure.type == "InvalidPayload"
    assert raised.value.failure.attempts == 1


async def test_unknown_job_at_the_worker_names_it_and_the_loaded_modules(
    client: Client, queue: str, worker: WorkerFactory
):
    from jobmodule.workflows import JobInput, JobWorkflow

    async with worker(queue):
        handle = await client.start_workflow(
            JobWorkflow.run,
            JobInput(
                job="tests.sample_jobs.Ad",
                payload={},
                policy=jobs.Add.default_policy().model_copy(update={"queue": queue, "tries": 5}),
            ),
            id=f"unknown-{queue}",
            task_queue=queue,
        )
        with pytest.raises(JobDeadLetteredError) as raised:
            await JobHandle(id=handle.id, client=client).result()
    failure = raised.value.failure
    assert failure is not None and failure.type == "UnknownJob"
    assert "tests.sample_jobs.Add" in failure.message  # a close match
    assert "tests.sample_jobs" in failure.message  # the modules the worker loaded


async def test_retry_all_and_flush_work_the_whole_queue_in_one_operation(
    client: Client, queue: str, worker: WorkerFactory, tmp_path: Path
):
    marker = tmp_path / "fixed"
    handler = FailureHandler().using(client)
    async with worker(queue):
        first = [
            await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(queue)
            for _ in range(5)
        ]
        for job in first:
            with pytest.raises(JobDeadLetteredError):
                await job.result()
        await wait_until(lambda: _count_is(handler, queue, 5))
        marker.touch()
        assert await handler.retry_all(queue=queue) == 5
        assert [await job.result() for job in first] == ["fixed"] * 5

        marker.unlink()
        second = [
            await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(queue)
            for _ in range(3)
        ]
        for job in second:
            with pytest.raises(JobDeadLetteredError):
                await job.result()
        await wait_until(lambda: _count_is(handler, queue, 3))
        assert await handler.flush(queue=queue) == 3
        for job in second:
            with pytest.raises(JobForgottenError):
                await job.result()
        await wait_until(lambda: _count_is(handler, queue, 0))


async def _count_is(handler: FailureHandler, queue: str, expected: int) -> bool:
    return await handler.count(queue=queue) == expected
