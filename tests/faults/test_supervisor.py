"""``--processes N`` supervises: it replaces a killed child and recycles them on their limits."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections import Counter
from pathlib import Path

from temporalio.client import Client

from tests.conftest import wait_until
from tests.faults import fault_jobs
from tests.faults.conftest import StartWorkers, runs


async def test_a_child_killed_with_kill_9_is_replaced_and_its_job_completes(
    client: Client, queue: str, start_workers: StartWorkers, tmp_path: Path
):
    path = tmp_path / "runs"
    supervisor = start_workers(queue, "--processes", "2", ready=2)
    job = await fault_jobs.RecordRun.dispatch(path=str(path), i=1, seconds=5).on_queue(queue)
    await wait_until(lambda: 1 in runs(path))
    victim = int(runs(path)[1][0])
    os.kill(victim, signal.SIGKILL)
    supervisor.wait_for("worker ready", 3, timeout=15)  # a new child polls
    assert f"pid {victim} died (killed by SIGKILL)" in "\n".join(supervisor.output)
    assert await asyncio.wait_for(job.result(), timeout=60) != victim
    assert runs(path)[1][-1] == "done"
    supervisor.signal(signal.SIGTERM)
    assert await asyncio.to_thread(supervisor.wait, 60) == 0


async def test_max_jobs_recycles_children_and_every_job_runs_once(
    client: Client, queue: str, start_workers: StartWorkers, tmp_path: Path
):
    path = tmp_path / "runs"
    supervisor = start_workers(
        queue, "--processes", "2", "--concurrency", "1", "--max-jobs", "10", ready=2
    )
    handles = await asyncio.gather(
        *(
            fault_jobs.RecordRun.dispatch(path=str(path), i=i, seconds=0.3).on_queue(queue)
            for i in range(60)
        )
    )
    pids = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=180)
    notes = runs(path)
    assert sorted(notes) == list(range(60))
    assert all(len(seen) == 2 for seen in notes.values()), "a job ran more than once"
    assert len(set(pids)) >= 4, Counter(pids)
    assert supervisor.count("recycling pid") >= 2
    supervisor.signal(signal.SIGTERM)
    assert await asyncio.to_thread(supervisor.wait, 60) == 0


async def test_children_of_a_supervisor_killed_with_kill_9_drain_and_exit(
    client: Client, queue: str, start_workers: StartWorkers
):
    supervisor = start_workers(queue, "--processes", "2", ready=2)
    children = [
        int(pid) for pid in re.findall(r"worker process pid (\d+)", "\n".join(supervisor.output))
    ]
    assert len(children) == 2
    os.kill(supervisor.process.pid, signal.SIGKILL)
    await wait_until(lambda: not any(running(pid) for pid in children), timeout=30)
    assert "the supervisor is gone; draining and exiting" in "\n".join(supervisor.output)


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's new parent may be slow to reap it)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"
