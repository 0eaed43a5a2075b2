"""The servers a bench run needs: Redis (one per Celery profile) and the Temporal dev server.

Both bind to 127.0.0.1 on free ports, keep their files under the work dir and are stopped by
pid (``stop_process``) when the harness ends, error or not.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from jobmodule.dev.server import dev_server_command, wait_for_port
from jobmodule.settings import JobSettings

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def redis_available() -> bool:
    """True when ``redis-server`` is installed (run.sh installs it from Debian)."""
    return shutil.which("redis-server") is not None


def start_redis(work_dir: Path, profile: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start a Redis for ``profile``; ``durable`` appends to an AOF fsynced every second."""
    data = work_dir / f"redis-{profile}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    port = free_port()
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "everysec"]
        if profile == "durable"
        else ["--appendonly", "no"]
    )
    command = [
        "redis-server",
        "--bind",
        LOOPBACK,
        "--port",
        str(port),
        "--dir",
        str(data),
        "--save",
        "",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
        "--logfile",
        str(data / "redis.log"),
        *persistence,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(LOOPBACK, port, timeout=20)
    except TimeoutError:
        stop_process(process)
        raise
    return process, f"redis://{LOOPBACK}:{port}"


def start_temporal(
    work_dir: Path, *, in_memory: bool = False
) -> tuple[subprocess.Popen[bytes], str, list[str]]:
    """Start the embedded dev server on a fresh SQLite file, as ``jobmodule dev`` would.

    ``in_memory`` drops the file (SQLite in memory), to see what persistence costs. Returns the
    process, its address and its command (``launch_temporal`` starts it again on the same file).
    """
    state = work_dir / "temporal"
    shutil.rmtree(state, ignore_errors=True)
    port = free_port()
    settings = JobSettings(state_dir=state, dev_port=port, dev_ip=LOOPBACK)
    command = dev_server_command(settings, headless=True)
    if in_memory:
        at = command.index("--db-filename")
        del command[at : at + 2]
    return launch_temporal(command, work_dir, port), f"{LOOPBACK}:{port}", command


def launch_temporal(command: list[str], work_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """Run a dev server command, its log appended to ``temporal.log``; wait until it listens."""
    with (work_dir / "temporal.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(LOOPBACK, port, timeout=60)
    except TimeoutError:
        stop_process(process)
        raise
    return process


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, by pid."""
    try:
        root = psutil.Process(pid)
        victims = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for victim in victims:
        try:
            victim.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL the whole tree."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    kill_tree(process.pid)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
