"""Workers and clients ride out a Temporal server that stops and comes back on its address."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from jobmodule import Bus
from jobmodule.connection import connect
from tests import sample_jobs as jobs
from tests.conftest import lines, wait_until
from tests.faults.conftest import PrivateServer, StartWorkers


async def test_a_batch_survives_a_server_restart_and_runs_its_then_once(
    private_server: PrivateServer, start_workers: StartWorkers, tmp_path: Path
):
    out, callbacks = tmp_path / "runs", tmp_path / "callbacks"
    client = await connect(target_host=private_server.address)
    worker = start_workers("restart", address=private_server.address)
    batch = await (
        Bus.batch(jobs.AppendLine(path=str(out), i=i, seconds=0.002) for i in range(3000))
        .then(jobs.AppendLine(path=str(callbacks), i=-1, seconds=0))
        .on_queue("restart")
        .using(client)
        .dispatch()
    )
    await wait_until(lambda: lines(out) >= 500, timeout=60)
    private_server.stop()
    await asyncio.sleep(5)  # the outage itself
    assert worker.process.poll() is None
    private_server.start()
    final = await asyncio.wait_for(batch.wait(), timeout=240)
    assert (final.total_jobs, final.processed_jobs, final.failed_jobs) == (3000, 3000, 0)
    ran = Counter(int(line) for line in out.read_text().split())
    assert set(ran) == set(range(3000))  # every job ran (some twice: the outage cost retries)
    assert callbacks.read_text().split() == ["-1"]  # then ran exactly once
    assert worker.process.poll() is None  # and the worker never exited


async def test_a_worker_started_while_the_server_is_down_waits_for_it(
    private_server: PrivateServer, start_workers: StartWorkers
):
    private_server.stop()
    worker = start_workers("later", address=private_server.address, ready=0)
    worker.wait_for("waiting for the Temporal server", timeout=30)
    assert worker.process.poll() is None
    private_server.start()
    worker.wait_for("worker ready", timeout=60)
    client = await connect(target_host=private_server.address)
    job = await jobs.Add.dispatch(a=40, b=2).on_queue("later").using(client)
    assert await asyncio.wait_for(job.result(), timeout=30) == 42
