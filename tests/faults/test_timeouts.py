"""A job past its timeout is stopped before its next attempt starts: attempts never overlap."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from temporalio.client import Client

from jobmodule import FailureHandler
from tests import sample_jobs
from tests.conftest import wait_until
from tests.faults import fault_jobs
from tests.faults.conftest import StartWorkers


async def test_a_sync_job_past_its_timeout_is_never_run_twice_at_once(
    client: Client, queue: str, start_workers: StartWorkers, tmp_path: Path
):
    path = tmp_path / "attempts"
    supervisor = start_workers(queue, "--processes", "2", ready=2)
    dispatched = time.monotonic()
    job = await fault_jobs.StuckSync.dispatch(path=str(path)).on_queue(queue)
    dlq = FailureHandler().using(client)
    [parked] = await wait_until(lambda: dlq.list(queue=queue), timeout=60)
    assert time.monotonic() - dispatched < 60
    assert parked.id == job.id and parked.attempts == 2
    assert "exceeded its timeout of 2s" in parked.exception
    attempts = path.read_text().splitlines()
    assert len(attempts) == 2
    output = "\n".join(supervisor.output)
    assert all(line.endswith("alone") for line in attempts), (attempts, output)  # no overlap
    assert supervisor.count("is tainted and exits") == 2
    supervisor.signal(signal.SIGTERM)
    assert await asyncio.to_thread(supervisor.wait, 60) == 0


async def test_an_async_job_past_its_timeout_is_cancelled_and_retried(
    client: Client, queue: str, start_workers: StartWorkers, tmp_path: Path
):
    start_workers(queue)
    job = await sample_jobs.Sleeps.dispatch(seconds=30).on_queue(queue).timeout(1).tries(2)
    outcome = await asyncio.wait_for(job.outcome(), timeout=60)
    assert outcome.failure is not None and outcome.failure.type == "Timeout"
    assert outcome.failure.attempts == 2
