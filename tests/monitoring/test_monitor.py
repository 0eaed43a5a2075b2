"""JobMonitor against the real server: jobs (not tasks) pending, failures, runtime and wait."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import PIPE
from datetime import timedelta

import pytest
from temporalio.client import Client

from jobmodule import Bus, JobMonitor, QueueStats
from tests import sample_jobs as jobs
from tests.conftest import REPO, TEST_SETTINGS, WorkerFactory, wait_until

FAST = TEST_SETTINGS.model_copy(update={"monitor_report_seconds": 0.5})
"""In-process workers that report twice a second, so a test waits less for the figures."""


async def queue_row(queue: str, **filters: object) -> QueueStats:
    [row] = await JobMonitor().get_queue_stats(queue=queue, **filters)  # type: ignore[arg-type]
    return row


async def test_pending_counts_jobs_not_tasks_while_one_long_job_blocks_the_worker(
    client: Client, queue: str, spawn_worker, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("JOBS_MONITOR_REPORT_SECONDS", "1")
    spawn_worker(queue, "--concurrency", "1")
    await jobs.Sleeps.dispatch(seconds=120).on_queue(queue).timeout(300)
    monitor = JobMonitor()
    assert await wait_until(lambda: _running(queue, 1), timeout=30)
    for i in range(7):
        await jobs.Add.dispatch(a=i).on_queue(queue)
    await Bus.batch([jobs.Noop(i=i) for i in range(30)]).on_queue(queue).dispatch()

    async def pending_is(expected: int) -> bool:
        return await monitor.get_pending_jobs_count(queue=queue) == expected

    await wait_until(lambda: pending_is(37), timeout=30)
    row = await queue_row(queue)
    assert (row.pending, row.running, row.delayed, row.workers) == (37, 1, 0, 1)
    # Chains, coalesced dispatches and delayed jobs count too, each where it belongs.
    await Bus.chain([jobs.Add(a=1), jobs.Add(a=2), jobs.Add(a=3)]).on_queue(queue).dispatch()
    await asyncio.gather(*(jobs.Noop.dispatch(i=i).on_queue(queue).coalesce() for i in range(2)))
    await jobs.Add.dispatch(a=0).on_queue(queue).delay(timedelta(minutes=10))
    await wait_until(lambda: pending_is(42), timeout=30)
    row = await queue_row(queue)
    assert (row.pending, row.delayed, row.running) == (42, 1, 1)
    await wait_until(lambda: _oldest_pending(queue), timeout=30)  # the backlog has an age


async def _running(queue: str, expected: int) -> bool:
    return (await queue_row(queue)).running == expected


async def _oldest_pending(queue: str) -> bool:
    return ((await queue_row(queue)).oldest_pending_s or 0) > 0


async def test_jobs_that_exhaust_their_tries_count_as_failed_now_and_in_the_window(
    client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue, settings=FAST):
        handles = [
            await jobs.AlwaysFails.dispatch(token=f"{queue}-{i}").on_queue(queue) for i in range(3)
        ]
        for handle in handles:
            await handle.outcome()
        monitor = JobMonitor()

        async def failed_now() -> bool:
            return await monitor.get_failed_jobs_count(queue=queue) == 3

        await wait_until(failed_now)
        await wait_until(lambda: _failed_in_window(queue, 3))
    row = await queue_row(queue)
    assert (row.failed, row.failed_in_window, row.retried) == (3, 3, 3)  # tries = 2 each


async def _failed_in_window(queue: str, expected: int) -> bool:
    return (await queue_row(queue)).failed_in_window == expected


async def test_runtime_of_ten_jobs_of_0_3_s_reads_the_same_from_a_second_process(
    client: Client, queue: str, worker: WorkerFactory, server_address: str
):
    async with worker(queue, settings=FAST):
        handles = [await jobs.Sleeps.dispatch(seconds=0.3).on_queue(queue) for _ in range(10)]
        for handle in handles:
            await handle.result()
        await wait_until(lambda: _processed(queue, 10))
    monitor = JobMonitor()
    average = await monitor.get_average_processing_time(queue=queue, job="tests.sample_jobs.Sleeps")
    assert 0.25 <= average <= 0.6
    row = await queue_row(queue)
    assert row.processed == 10 and row.failed_in_window == 0
    assert row.p95_runtime_s is not None and 0.25 <= row.p95_runtime_s <= 0.6
    assert row.avg_wait_s is not None and row.avg_wait_s < 5
    assert row.throughput_per_minute == pytest.approx(10 / 15, abs=0.01)
    [stats] = await monitor.get_job_stats(queue=queue)
    assert (stats.job, stats.processed, stats.queues) == ("tests.sample_jobs.Sleeps", 10, [queue])

    code = (
        "import asyncio, json, sys; from jobmodule import JobMonitor\n"
        "rows = asyncio.run(JobMonitor().get_queue_stats(queue=sys.argv[1]))\n"
        "print(json.dumps([row.model_dump(mode='json') for row in rows]))"
    )
    env = {**os.environ, "TEMPORAL_ADDRESS": server_address}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, queue, cwd=REPO, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    [theirs] = json.loads(out)
    window_figures = ("processed", "avg_runtime_s", "p95_runtime_s", "avg_wait_s", "p95_wait_s")
    assert {key: theirs[key] for key in window_figures} == {
        key: getattr(row, key) for key in window_figures
    }


async def _processed(queue: str, expected: int) -> bool:
    return (await queue_row(queue)).processed == expected


async def test_wait_runs_from_the_end_of_a_start_delay_not_from_the_dispatch(
    client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue, settings=FAST):
        job = await jobs.Add.dispatch(a=1).on_queue(queue).delay(timedelta(seconds=3))
        assert await job.result() == 1
        await wait_until(lambda: _processed(queue, 1))
    row = await queue_row(queue)
    assert row.avg_wait_s is not None and row.avg_wait_s < 2.5


async def test_batch_jobs_are_counted_and_timed_one_by_one_inside_their_groups(
    client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue, settings=FAST):
        batch = await (
            Bus.batch([jobs.FailsIf(token=queue, i=i, bad=[3], seconds=0.05) for i in range(40)])
            .allow_failures()
            .on_queue(queue)
            .tune(group_size=40, group_concurrency=4)
            .dispatch()
        )
        await batch.wait()
        await wait_until(lambda: _processed(queue, 40))
    row = await queue_row(queue)
    assert (row.processed, row.failed_in_window, row.failed) == (40, 1, 1)
    # 40 jobs in one group, 4 at a time: the last ones waited for ten rounds of 50 ms.
    assert row.p95_wait_s is not None and row.p95_wait_s >= 0.3
    assert row.avg_runtime_s is not None and 0.04 <= row.avg_runtime_s <= 0.5
