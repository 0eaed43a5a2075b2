"""The worker as a real process: kill -9 loses nothing, SIGTERM drains and exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

from temporalio.client import Client

from tests import sample_jobs as jobs
from tests.conftest import lines, wait_until


async def test_job_survives_kill_9_of_its_worker_and_a_second_worker_finishes_it(
    client: Client, queue: str, spawn_worker, tmp_path: Path
):
    out = tmp_path / "out"
    started = Path(str(out) + ".started")
    first = spawn_worker(queue)
    job = await jobs.WritesFile.dispatch(path=str(out), seconds=2).on_queue(queue).timeout(3)
    await wait_until(lambda: started.exists())
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert lines(out) == 0  # it died mid-job

    spawn_worker(queue)
    assert await job.result() == "written"
    assert lines(out) == 1  # finished exactly once
    assert lines(started) == 2  # the killed attempt, then the retry


async def test_sigterm_lets_the_running_job_finish_and_the_worker_exits_0(
    client: Client, queue: str, spawn_worker, tmp_path: Path
):
    out = tmp_path / "out"
    started = Path(str(out) + ".started")
    process = spawn_worker(queue)
    job = await jobs.WritesFile.dispatch(path=str(out), seconds=2).on_queue(queue)
    await wait_until(lambda: started.exists())
    process.send_signal(signal.SIGTERM)
    assert await wait_until(lambda: process.poll() is not None, timeout=30)
    assert process.returncode == 0
    assert lines(out) == 1  # the in-flight job completed before exit
    spawn_worker(queue)  # the workflow records the completion on the next worker
    assert await job.result() == "written"
    assert lines(started) == 1  # it was not run again


async def test_processes_option_runs_that_many_workers_and_stops_them_all(
    client: Client, queue: str, spawn_worker
):
    parent = spawn_worker(queue, "--processes", "2", ready=2)
    assert await (await jobs.Add.dispatch(a=2).on_queue(queue)).result() == 2
    parent.send_signal(signal.SIGTERM)
    assert await wait_until(lambda: parent.poll() is not None, timeout=30)
    assert parent.returncode == 0
