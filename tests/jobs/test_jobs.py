"""Dispatching jobs and running them on a real dev server: results, retries, backoff, queues."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client

from jobmodule import JobState
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, update_accepted, wait_until


async def test_dispatch_runs_handle_and_returns_its_result(queue: str, worker: WorkerFactory):
    async with worker(queue):
        job = await jobs.Add.dispatch(a=2, b=3).on_queue(queue)
        assert await job.result() == 5
        assert await job.status() == JobState.SUCCEEDED


async def test_sync_handle_runs_in_a_thread_and_sees_its_attempt(queue: str, worker: WorkerFactory):
    async with worker(queue):
        job = await jobs.SyncAdd.dispatch(a=1).on_queue(queue)
        assert await job.result() == {"sum": 2, "attempt": 1}


async def test_flaky_job_succeeds_on_third_attempt_with_progressive_backoff(
    queue: str, worker: WorkerFactory
):
    token = f"flaky-{queue}"
    async with worker(queue):
        job = await jobs.FlakyTwice.dispatch(token=token).on_queue(queue)
        assert await job.result() == 3
    first, second, third = jobs.attempt_times[token]
    assert 0.9 <= second - first <= 1.8, second - first
    assert 1.9 <= third - second <= 2.8, third - second


async def test_delayed_job_does_not_start_early(queue: str, worker: WorkerFactory):
    token = f"delay-{queue}"
    async with worker(queue):
        dispatched = time.monotonic()
        job = await jobs.Sleeps.dispatch(seconds=0, token=token).on_queue(queue).delay(2)
        assert await job.status() == JobState.QUEUED
        assert await job.result() == "slept"
    started = jobs.attempt_times[token][0]
    assert started - dispatched >= 1.9


async def test_job_runs_only_on_a_worker_polling_its_queue(
    client: Client, queue: str, worker: WorkerFactory
):
    processing = f"{queue}-processing"
    async with worker(queue):
        job = await jobs.Add.dispatch(a=1).on_queue(processing)
        # Give the wrong worker every chance to pick it up; the job must stay queued.
        await wait_until(lambda: job.status(), timeout=5)
        desc = await client.get_workflow_handle(job.id).describe()
        assert desc.history_length <= 2
        assert await job.status() == JobState.QUEUED
    async with worker(processing):
        assert await job.result() == 1


async def test_release_asks_for_another_attempt_after_the_delay(queue: str, worker: WorkerFactory):
    token = f"release-{queue}"
    async with worker(queue):
        job = await jobs.Releases.dispatch(token=token).on_queue(queue)
        assert await job.result() == 2
    first, second = jobs.attempt_times[token]
    assert second - first >= 0.9


async def test_dispatch_overrides_the_class_policy(queue: str, worker: WorkerFactory):
    token = f"override-{queue}"
    async with worker(queue):
        job = await jobs.FlakyTwice.dispatch(token=token).on_queue(queue).tries(2).backoff(0)
        with pytest.raises(Exception, match="dead-lettered"):
            await job.result()
    assert len(jobs.attempt_times[token]) == 2


async def test_deadline_in_the_past_dead_letters_without_running(queue: str, worker: WorkerFactory):
    token = f"deadline-{queue}"
    async with worker(queue):
        past = datetime.now(UTC) - timedelta(seconds=1)
        job = await jobs.Sleeps.dispatch(seconds=0, token=token).on_queue(queue).deadline(past)
        with pytest.raises(Exception, match="DeadlineExceeded"):
            await job.result()
        assert await job.status() == JobState.DEAD_LETTERED
    assert jobs.attempt_times[token] == []


async def test_deadline_cuts_retries_short(queue: str, worker: WorkerFactory):
    token = f"deadline-retries-{queue}"
    async with worker(queue):
        soon = datetime.now(UTC) + timedelta(seconds=1)
        job = await jobs.Sleeps.dispatch(seconds=5, token=token).on_queue(queue).deadline(soon)
        with pytest.raises(Exception, match="Timeout"):
            await job.result()
    assert len(jobs.attempt_times[token]) == 1


async def test_blocking_api_dispatches_and_waits_without_an_event_loop(
    queue: str, worker: WorkerFactory
):
    def script() -> tuple[object, object]:  # plain code, no event loop of its own
        job = jobs.Add.dispatch(a=40, b=2).on_queue(queue).sync()
        return job.result_sync(timeout=30), job.status_sync()

    async with worker(queue):
        result, status = await asyncio.to_thread(script)
    assert result == 42
    assert status == JobState.SUCCEEDED


def test_blocking_api_refuses_to_run_inside_an_event_loop():
    async def inside() -> None:
        jobs.Add.dispatch_sync(a=1)

    with pytest.raises(RuntimeError, match="use `await`"):
        asyncio.run(inside())


async def test_local_job_runs_in_the_workflow_task_with_fewer_events(
    client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        remote = await jobs.Add.dispatch(a=1).on_queue(queue)
        local = await jobs.Add.dispatch(a=1).on_queue(queue).local()
        assert await remote.result() == 1
        assert await local.result() == 1
        remote_events = (await client.get_workflow_handle(remote.id).describe()).history_length
        local_events = (await client.get_workflow_handle(local.id).describe()).history_length
    assert local_events < remote_events


async def test_local_job_retries_with_its_backoff(queue: str, worker: WorkerFactory):
    token = f"local-{queue}"
    async with worker(queue):
        job = await jobs.LocalFlaky.dispatch(token=token).on_queue(queue)
        assert await job.result() == 2
    first, second = jobs.attempt_times[token]
    assert 0.9 <= second - first <= 2.5


def test_local_job_cannot_declare_a_heartbeat_timeout():
    from jobmodule import Job, JobDefinitionError

    with pytest.raises(JobDefinitionError, match="local job cannot heartbeat"):

        class LocalHeartbeat(Job):
            local = True
            heartbeat_timeout = 5


async def test_a_timeout_around_result_stops_waiting(
    client: Client, queue: str, worker: WorkerFactory
):
    """``wait_for(job.result(), t)`` gives up after ``t``; the job itself carries on."""
    token = f"gate-{queue}"
    async with worker(queue):
        job = await jobs.Gated.dispatch(token=token).on_queue(queue)
        waiting = asyncio.create_task(job.result())
        await wait_until(lambda: update_accepted(client, job.id, "wait_settled"))
        waiting.cancel()
        done, _ = await asyncio.wait({waiting}, timeout=5)
        assert done == {waiting} and waiting.cancelled()
        jobs.gates[token].set()
        assert await job.result() is None
    assert jobs.batch_runs[token] == [0]
