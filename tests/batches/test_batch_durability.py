"""Batches at scale and under failure: history bounds, kill -9 mid-batch, checkpoints."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from temporalio.client import Client

from jobmodule import Bus
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, lines, wait_until

HISTORY_WARNING = 10_240


async def histories_of(client: Client, batch_id: str) -> dict[str, int]:
    """History length of every workflow run of a batch (the batch's runs and its chunks)."""
    lengths: dict[str, int] = {}
    async for execution in client.list_workflows(f'BatchId = "{batch_id}"'):
        lengths[f"{execution.id}/{execution.run_id}"] = execution.history_length
    return lengths


async def test_10000_job_batch_stays_within_history_limits(
    client: Client, queue: str, worker: WorkerFactory
):
    token = f"big-{queue}"
    async with worker(queue):
        batch = await (
            Bus.batch(jobs.Noop(i=i) for i in range(10_000))
            .then(jobs.RecordCallback(token=token, role="then"))
            .on_queue(queue)
            .dispatch()
        )
        final = await batch.wait()
    assert (final.total_jobs, final.processed_jobs, final.failed_jobs) == (10_000, 10_000, 0)
    assert [role for role, _ in jobs.callback_runs[token]] == ["then"]
    lengths = await wait_until(lambda: histories_of(client, batch.id))
    assert len(lengths) >= 11  # the batch and its 10 chunks
    assert max(lengths.values()) < HISTORY_WARNING, max(lengths.values())


async def test_kill_9_mid_batch_loses_no_job_and_runs_callbacks_once(
    client: Client, queue: str, spawn_worker, tmp_path: Path
):
    out = tmp_path / "runs"
    callbacks = tmp_path / "callbacks"
    first = spawn_worker(queue)
    batch = await (
        Bus.batch(jobs.AppendLine(path=str(out), i=i) for i in range(400))
        .then(jobs.AppendLine(path=str(callbacks), i=-1, seconds=0))
        .finally_(jobs.AppendLine(path=str(callbacks), i=-2, seconds=0))
        .on_queue(queue)
        .tune(group_size=50, group_concurrency=4)
        .dispatch()
    )
    await wait_until(lambda: lines(out) >= 40, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait()
    spawn_worker(queue)
    final = await batch.wait()
    assert (final.processed_jobs, final.failed_jobs, final.pending_jobs) == (400, 0, 0)
    runs = Counter(int(line) for line in out.read_text().split())
    assert set(runs) == set(range(400))  # nothing lost
    assert sorted(int(line) for line in callbacks.read_text().split()) == [-2, -1]  # once each


async def test_long_job_resumes_from_its_checkpoint_after_a_crash(
    client: Client, queue: str, spawn_worker, tmp_path: Path
):
    log = tmp_path / "log"
    first = spawn_worker(queue)
    job = await jobs.CountsTo.dispatch(path=str(log), n=100).on_queue(queue)
    await wait_until(lambda: log.exists(), timeout=20)
    # Let it heartbeat a few checkpoints, then kill the worker mid-count.
    await wait_until(lambda: _checkpoint(client, job.id), timeout=20)
    first.send_signal(signal.SIGKILL)
    first.wait()
    spawn_worker(queue)
    resumed_from = await job.result()
    assert resumed_from > 0
    assert log.read_text().splitlines()[0] == "start 0"
    assert log.read_text().splitlines()[-1] == "done"


async def _checkpoint(client: Client, job_id: str) -> bool:
    description = await client.get_workflow_handle(job_id).describe()
    pending = description.raw_description.pending_activities
    return bool(pending) and pending[0].HasField("heartbeat_details")


async def test_small_batch_of_long_jobs_spreads_over_worker_processes(
    client: Client, queue: str, spawn_worker, tmp_path: Path
):
    # Two single-slot workers. Packed 100 to an activity task, all 8 jobs would land on one.
    spawn_worker(queue, "--concurrency", "1")
    spawn_worker(queue, "--concurrency", "1")
    path = tmp_path / "pids"
    batch = (
        await Bus.batch(jobs.RecordsPid(path=str(path)) for _ in range(8))
        .on_queue(queue)
        .dispatch()
    )
    final = await batch.wait()
    assert final.processed_jobs == 8
    pids = path.read_text().split()
    assert len(pids) == 8
    assert len(set(pids)) == 2, Counter(pids)
