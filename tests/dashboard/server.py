"""A ``jobmodule dashboard`` subprocess on a free loopback port, for tests and screenshots."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dashboard:
    url: str
    process: subprocess.Popen[str]
    output: list[str]


def answers(url: str) -> bool:
    """The server answers HTTP at all (any status: a 401 means it is up, too)."""
    try:
        with urllib.request.urlopen(url + "/static/dashboard.css", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextlib.contextmanager
def running_dashboard(
    temporal_address: str, *extra: str, token: str | None = None, **env: str
) -> Iterator[Dashboard]:
    """Start ``jobmodule dashboard`` against ``temporal_address``; stop it after the block."""
    port = free_port()
    environment = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_address,
        "PYTHONUNBUFFERED": "1",
        "JOBS_DEV_UI_PORT": "8233",
        **env,
    }
    environment.pop("JOBS_DASHBOARD_TOKEN", None)
    if token is not None:
        environment["JOBS_DASHBOARD_TOKEN"] = token
    process = subprocess.Popen(
        [sys.executable, "-m", "jobmodule.cli.main", "dashboard", "--port", str(port), *extra],
        cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    assert process.stdout is not None
    threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"dashboard did not start: {''.join(output)}")
        time.sleep(0.05)  # polling for the port to open; there is no readiness signal
    try:
        yield Dashboard(url=url, process=process, output=output)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
