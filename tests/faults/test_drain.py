"""A graceful stop settles: the last jobs' results are recorded before the worker exits."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from temporalio.client import Client

from tests.conftest import wait_until
from tests.faults import fault_jobs
from tests.faults.conftest import StartWorkers, runs


async def test_sigterm_with_a_single_worker_records_the_result_before_it_exits(
    client: Client, queue: str, start_workers: StartWorkers, tmp_path: Path
):
    path = tmp_path / "runs"
    worker = start_workers(queue)
    job = await fault_jobs.RecordRun.dispatch(path=str(path), i=1, seconds=2).on_queue(queue)
    await wait_until(lambda: 1 in runs(path))
    worker.signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 60) == 0
    exited = time.monotonic()
    # No worker polls this queue any more: the result must already be recorded.
    assert await asyncio.wait_for(job.result(), timeout=10) > 0
    assert time.monotonic() - exited < 5
    assert runs(path)[1][-1] == "done" and len(runs(path)[1]) == 2  # ran once, to the end
    assert worker.count("drained: every job this worker finished has been recorded") == 1
