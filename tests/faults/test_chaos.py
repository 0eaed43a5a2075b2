"""Chaos, small: a batch and independent jobs while children are killed and the server restarts.

The full size (20,000 + 500 jobs) runs in ``make bench`` as W6C, next to Celery's W6.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
from collections import Counter
from pathlib import Path

from temporalio.client import Client

from jobmodule import Bus, FailureHandler
from jobmodule.connection import connect
from tests.conftest import lines, wait_until
from tests.faults import fault_jobs
from tests.faults.conftest import PrivateServer, StartWorkers

BATCH_JOBS = 2000
INDEPENDENT_JOBS = 100
MEANT_TO_FAIL = 3
KILLS = 4
KILL_EVERY_SECONDS = 3.0


def live_children(output: list[str]) -> list[int]:
    started = {
        int(pid) for pid in re.findall(r"started worker process pid (\d+)", "\n".join(output))
    }
    return [pid for pid in started if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_chaos_loses_nothing_and_runs_each_callback_once(
    private_server: PrivateServer, start_workers: StartWorkers, tmp_path: Path
):
    queue = "chaos"
    batch_runs, solo_runs, callbacks = tmp_path / "batch", tmp_path / "solo", tmp_path / "calls"
    client = await connect(target_host=private_server.address)
    supervisor = start_workers(queue, "--processes", "2", address=private_server.address, ready=2)
    batch = await (
        Bus.batch(fault_jobs.Tally(path=str(batch_runs), i=i) for i in range(BATCH_JOBS))
        .then(fault_jobs.Tally(path=str(callbacks), i=-1))
        .finally_(fault_jobs.Tally(path=str(callbacks), i=-2))
        .on_queue(queue)
        .using(client)
        .dispatch()
    )
    solo = await asyncio.gather(
        *(
            fault_jobs.Tally.dispatch(path=str(solo_runs), i=i).on_queue(queue).using(client)
            for i in range(INDEPENDENT_JOBS)
        )
    )
    doomed = await asyncio.gather(
        *(
            fault_jobs.FailsUntilFixed.dispatch(path=str(tmp_path / "doomed"), fixed="/nowhere")
            .on_queue(queue)
            .using(client)
            for _ in range(MEANT_TO_FAIL)
        )
    )
    rng = random.Random(7)
    for kill in range(KILLS):
        await asyncio.sleep(KILL_EVERY_SECONDS)
        children = live_children(supervisor.output)
        if children:
            os.kill(rng.choice(children), signal.SIGKILL)
        if kill == 1:
            private_server.stop()
            await asyncio.sleep(3)
            private_server.start()
    final = await asyncio.wait_for(batch.wait(), timeout=300)
    await asyncio.wait_for(asyncio.gather(*(job.result() for job in solo)), timeout=120)

    assert (final.processed_jobs, final.failed_jobs) == (BATCH_JOBS, 0)
    assert set(Counter(int(n) for n in batch_runs.read_text().split())) == set(range(BATCH_JOBS))
    assert set(Counter(int(n) for n in solo_runs.read_text().split())) == set(
        range(INDEPENDENT_JOBS)
    )
    assert sorted(int(n) for n in callbacks.read_text().split()) == [-2, -1]  # once each
    dlq = FailureHandler().using(client)
    parked = await wait_until(lambda: dlq.list(queue=queue), timeout=60)
    assert sorted(row.id for row in parked) == sorted(job.id for job in doomed)
    open_query = f'TaskQueue = "{queue}" AND ExecutionStatus = "Running"'
    await wait_until(
        lambda: _count(client, open_query, MEANT_TO_FAIL), timeout=60
    )  # only the parked jobs are still open
    assert lines(tmp_path / "doomed") == MEANT_TO_FAIL
    supervisor.signal(signal.SIGTERM)
    assert await asyncio.to_thread(supervisor.wait, 90) == 0


def _ran(path: Path) -> set[int]:
    return set(Counter(int(n) for n in path.read_text().split()))


async def _count(client: Client, query: str, expected: int) -> bool:
    return (await client.count_workflows(query)).count == expected
