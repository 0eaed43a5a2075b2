"""The worker as a real process: kill -9 loses nothing, SIGTERM drains and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from tests import jobs
from tests.conftest import wait_until

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def spawn_worker(server_address: str) -> Iterator[object]:
    """Start ``python worker.py`` subprocesses against the session server; reap them after."""
    processes: list[subprocess.Popen[str]] = []

    def spawn(queue: str) -> subprocess.Popen[str]:
        env = {**os.environ, "TEMPORAL_ADDRESS": server_address, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "worker.py", "--jobs", "tests.jobs", "--queue", queue],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        for line in process.stdout:  # block until the worker says it polls
            if line.startswith("worker ready"):
                break
        else:
            raise AssertionError(f"worker exited early with {process.wait()}")
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


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
