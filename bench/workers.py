"""Worker processes: ours (``worker.py``), the W0 engine worker, and Celery workers.

Each runs as its own process with its output in a log file, so RSS and kill -9 are real and a
chatty worker can never block on a full pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from celery import Celery

from bench.spec import Context

READY_TIMEOUT_S = 90.0


def _spawn(
    ctx: Context, command: list[str], env: dict[str, str], log_name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = ctx.path(f"logs/{log_name}-{uuid.uuid4().hex[:6]}.log")
    log = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=ctx.repo,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process, log_path


def _wait_for_line(
    process: subprocess.Popen[bytes], log_path: Path, marker: str, *, count: int = 1
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if log_path.read_text(errors="replace").count(marker) >= count:
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"worker did not become ready ({log_path}):\n{tail}")


def start_our_worker(
    ctx: Context,
    queue: str,
    *,
    processes: int = 1,
    concurrency: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``python worker.py --jobs bench.jobs --queue QUEUE [--processes N] [--concurrency C]``.

    ``env`` adds variables (WM runs workers with ``JOBS_MONITORING=false``)."""
    command = [sys.executable, "worker.py", "--jobs", "bench.jobs", "--queue", queue]
    if processes > 1:
        command += ["--processes", str(processes)]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    variables = {"TEMPORAL_ADDRESS": ctx.temporal_address, **(env or {})}
    process, log = _spawn(ctx, command, variables, "ours")
    _wait_for_line(process, log, "worker ready", count=processes)
    return process


def start_engine_worker(ctx: Context, queue: str) -> subprocess.Popen[bytes]:
    """The W0 worker: an empty workflow, with our worker's runner and concurrency settings."""
    command = [sys.executable, "-m", "bench.engine_worker", "--queue", queue]
    env = {"TEMPORAL_ADDRESS": ctx.temporal_address}
    process, log = _spawn(ctx, command, env, "engine")
    _wait_for_line(process, log, "worker ready")
    return process


def spawn_celery_worker(
    ctx: Context, *, profile: str, pool: str, concurrency: int, priority: bool = False
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start ``celery -A bench.celery_app worker -P POOL -c N``; does not wait for it."""
    name = f"bench-{uuid.uuid4().hex[:8]}@localhost"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bench.celery_app",
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-n",
        name,
        "--loglevel",
        "warning",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    env = {"BENCH_CELERY_PROFILE": profile, "BENCH_REDIS_URL": ctx.redis_urls[profile]}
    if priority:
        env["BENCH_CELERY_PRIORITY"] = "1"
    process, log = _spawn(ctx, command, env, f"celery-{profile}-{pool}{concurrency}")
    return process, name, log


def wait_celery_ready(app: Celery, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    """Block until the worker answers a ping (or fail with its log)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if app.control.ping(destination=[name], timeout=0.5):
            return
    process.kill()
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"celery worker did not become ready ({log}):\n{tail}")


def start_celery_worker(
    ctx: Context, app: Celery, *, profile: str, pool: str, concurrency: int
) -> subprocess.Popen[bytes]:
    """Start a Celery worker and wait until it answers a ping."""
    process, name, log = spawn_celery_worker(
        ctx, profile=profile, pool=pool, concurrency=concurrency
    )
    wait_celery_ready(app, process, name, log)
    return process
