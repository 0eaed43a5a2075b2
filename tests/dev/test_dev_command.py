"""``jobmodule dev``: the embedded server with SQLite persistence, a worker, and a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from jobmodule import connect
from jobmodule.jobs.handle import JobHandle
from tests import sample_jobs as jobs

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_dev(env: dict[str, str], seen: list[str] | None = None) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "jobmodule.cli.main", "dev", "--headless",
         "--jobs", "tests.sample_jobs", "--queue", "devq"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if seen is not None:
            seen.append(line)
        if line.startswith("worker ready"):
            return process
    raise AssertionError(f"jobmodule dev exited early with {process.wait()}")


def read_page(url: str) -> str:
    with urllib.request.urlopen(url) as page:
        return str(page.read().decode())


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


async def test_jobs_dev_serves_jobs_and_keeps_them_across_a_restart(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "JOBS_DEV_PORT": str(port),
        "JOBS_STATE_DIR": str(tmp_path / "state"),
        "JOBS_GRACEFUL_SHUTDOWN_SECONDS": "1",
        "JOBS_DASHBOARD_PORT": str(dashboard_port := free_port()),
    }
    printed: list[str] = []
    server = start_dev(env, printed)
    try:
        # The dashboard is served beside the worker, and its address printed.
        assert f"  Dashboard: http://127.0.0.1:{dashboard_port}\n" in printed
        page = await asyncio.to_thread(read_page, f"http://127.0.0.1:{dashboard_port}/workers")
        assert "<h1>Workers</h1>" in page
        client = await connect(target_host=f"127.0.0.1:{port}")
        done = await jobs.Add.dispatch(a=20, b=22).on_queue("devq").using(client)
        assert await done.result() == 42
        # Dispatched for later; it must survive the server going down.
        later = await jobs.Add.dispatch(a=1).on_queue("devq").delay(1).using(client)
    finally:
        assert stop(server) == 0
    assert (tmp_path / "state" / "temporal.db").exists()

    server = start_dev(env)
    try:
        client = await connect(target_host=f"127.0.0.1:{port}")
        assert await JobHandle(id=later.id, client=client).result() == 1
        assert await JobHandle(id=done.id, client=client).result() == 42
    finally:
        assert stop(server) == 0
