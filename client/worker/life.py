"""When a worker process should end: its recycle limits, its taint, and its supervisor.

Laravel's ``queue:work --max-jobs --max-time --memory`` and Celery's ``max_tasks_per_child`` /
``max_memory_per_child`` replace a worker before a slow leak or a stuck job hurts. A worker run
by a supervisor (``--processes N``) asks it for a replacement and keeps serving until the
replacement polls, so the queue never goes without a poller; a worker on its own (systemd,
Kubernetes) drains and exits 0 for its service manager to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import sys
import time
from dataclasses import dataclass
from typing import NoReturn, TextIO

log = logging.getLogger("jobmodule.worker")

SUPERVISOR_FD_ENV = "JOBS_SUPERVISOR_FD"
"""Set by the supervisor: the file descriptor a child writes its messages to."""
CHECK_EVERY_SECONDS = 1.0
ALIVE_EVERY_SECONDS = 2.0
"""A supervised child says it is alive this often; the supervisor kills one that goes quiet."""
REPLACEMENT_WAIT_SECONDS = 60.0
"""A child that asked for its replacement drains by itself if no SIGTERM came by then."""


@dataclass(frozen=True)
class RecycleLimits:
    """``--max-jobs``, ``--max-time`` (seconds) and ``--max-memory`` (MB); None is no limit."""

    max_jobs: int | None = None
    max_time: float | None = None
    max_memory_mb: float | None = None

    def reason(self, *, jobs: int, uptime: float, rss_mb: float) -> str | None:
        """Why the process should be recycled now, or None."""
        if self.max_jobs is not None and jobs >= self.max_jobs:
            return f"processed {jobs} jobs (--max-jobs {self.max_jobs})"
        if self.max_time is not None and uptime >= self.max_time:
            return f"ran {uptime:.0f}s (--max-time {self.max_time:g})"
        if self.max_memory_mb is not None and rss_mb >= self.max_memory_mb:
            return f"uses {rss_mb:.0f} MB (--max-memory {self.max_memory_mb:g})"
        return None


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc; else its peak)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def exit_tainted(code: int) -> NoReturn:
    """End a process whose job thread cannot be stopped: its drain is done, the thread is not.

    A normal exit would wait for that thread forever (the event loop's teardown and the
    interpreter both join their threads), so flush what we have and leave now; the supervisor
    or the service manager starts a new process.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class SupervisorLink:
    """The line-based channel to the supervisor, when there is one."""

    def __init__(self, channel: TextIO | None) -> None:
        self._channel = channel
        self._supervisor_pid = os.getppid()
        self._lost = False

    @classmethod
    def from_environment(cls) -> SupervisorLink:
        fd = os.environ.pop(SUPERVISOR_FD_ENV, None)
        if fd is None:
            return cls(None)
        return cls(os.fdopen(int(fd), "w", buffering=1))

    @property
    def supervised(self) -> bool:
        return self._channel is not None

    @property
    def supervisor_gone(self) -> bool:
        """The supervisor died (kill -9): this child was re-parented or its pipe broke."""
        return self.supervised and (self._lost or os.getppid() != self._supervisor_pid)

    def send(self, message: str) -> None:
        if self._channel is None:
            return
        try:
            self._channel.write(message.replace("\n", " ") + "\n")
        except (OSError, ValueError):  # the supervisor is gone: nobody to tell
            self._lost = True


class WorkerLife:
    """Watches the limits; asks for a replacement (supervised) or stops (alone)."""

    def __init__(self, limits: RecycleLimits, stop: asyncio.Event, link: SupervisorLink) -> None:
        self._limits = limits
        self._stop = stop
        self._link = link
        self._started = time.monotonic()
        self._jobs = 0
        self.recycle_reason: str | None = None
        self.taint_reason: str | None = None

    def ready(self) -> None:
        self._link.send(f"ready {os.getpid()}")

    def jobs_finished(self, total: int) -> None:
        self._jobs = total
        self._check()

    def tainted(self, reason: str) -> None:
        """A job could not be stopped: drain now and exit for a replacement."""
        self.taint_reason = reason
        self._link.send(f"tainted {reason}")
        self._stop.set()

    async def watch(self) -> None:
        """Check the time and memory limits, and tell the supervisor we are alive."""
        last_alive = 0.0
        while not self._stop.is_set():
            self._check()
            now = time.monotonic()
            if now - last_alive >= ALIVE_EVERY_SECONDS:
                self._link.send("alive")
                last_alive = now
            if self._link.supervisor_gone:
                log.warning("the supervisor is gone; draining and exiting, not running orphaned")
                self._stop.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), CHECK_EVERY_SECONDS)

    def _check(self) -> None:
        if self.recycle_reason is not None:
            return
        uptime = time.monotonic() - self._started
        reason = self._limits.reason(jobs=self._jobs, uptime=uptime, rss_mb=rss_mb())
        if reason is None:
            return
        self.recycle_reason = reason
        if self._link.supervised:
            log.info("recycling: %s; serving until the replacement polls", reason)
            self._link.send(f"recycle {reason}")
            asyncio.get_running_loop().call_later(REPLACEMENT_WAIT_SECONDS, self._stop.set)
        else:
            log.info("recycling: %s; draining and exiting 0", reason)
            self._stop.set()
