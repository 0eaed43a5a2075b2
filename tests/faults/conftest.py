"""Fault cases run real worker processes; the server cases run a server of their own."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobmodule.dev.server import dev_server_command, wait_for_port
from jobmodule.settings import JobSettings

REPO = Path(__file__).resolve().parents[2]
FAULT_JOBS = "tests.sample_jobs,tests.faults.fault_jobs"


class WorkerProcess:
    """``python worker.py`` (maybe a supervisor of several), with its output collected."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def count(self, text: str) -> int:
        """How many output lines contain ``text``."""
        return sum(text in line for line in list(self.output))

    def wait_for(self, text: str, count: int = 1, timeout: float = 30) -> None:
        """Block until ``count`` output lines contain ``text``; fail with the output if not."""
        deadline = time.monotonic() + timeout
        while self.count(text) < count:
            if (
                time.monotonic() > deadline
                or self.process.poll() is not None
                and not (self._reader.is_alive())
            ):
                tail = "\n".join(self.output[-40:])
                raise AssertionError(f"no {count}x {text!r} within {timeout}s:\n{tail}")
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)


StartWorkers = Callable[..., WorkerProcess]


@pytest.fixture
def start_workers(server_address: str) -> Iterator[StartWorkers]:
    """``start_workers(queue, *args, address=..., ready=N)``: worker processes, reaped after."""
    started: list[WorkerProcess] = []

    def start(
        queue: str, *args: str, address: str | None = None, ready: int = 1, **env: str
    ) -> WorkerProcess:
        environment = {
            **os.environ,
            "TEMPORAL_ADDRESS": address or server_address,
            "PYTHONUNBUFFERED": "1",
            "JOBS_GRACEFUL_SHUTDOWN_SECONDS": "10",
            **env,
        }
        command = [sys.executable, "worker.py", "--jobs", FAULT_JOBS, "--queue", queue, *args]
        process = subprocess.Popen(
            command, cwd=REPO, env=environment, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        worker = WorkerProcess(process)
        started.append(worker)
        if ready:
            worker.wait_for("worker ready", ready)
        return worker

    yield start
    for worker in started:
        with contextlib.suppress(ProcessLookupError):  # children outlive a killed supervisor
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateServer:
    """A dev server of one test's own, on a fixed port and SQLite file, to stop and restart."""

    def __init__(self, state_dir: Path) -> None:
        port = free_port()
        self.settings = JobSettings(state_dir=state_dir, dev_port=port, dev_ip="127.0.0.1")
        self.address = f"127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = dev_server_command(self.settings, headless=True)
        with (self.settings.state_dir / "temporal.log").open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.settings.dev_ip, self.settings.dev_port)

    def stop(self) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=30)
        self._process = None


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[PrivateServer]:
    server = PrivateServer(tmp_path / "server")
    server.start()
    yield server
    if server._process is not None:
        server.stop()


def runs(path: Path) -> dict[int, list[str]]:
    """``RecordRun``/``Poison`` notes by job index: the pids it started in, and ``done``."""
    found: dict[int, list[str]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            index, what = line.split()
            found.setdefault(int(index), []).append(what)
    return found
