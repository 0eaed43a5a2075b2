"""Whether this worker process can still be trusted to run jobs.

A sync ``handle()`` that runs past its timeout cannot be stopped: Python has no way to kill a
thread. Letting its attempt fail would let the retry start elsewhere while it still runs, so
the process is *tainted* instead: the attempt is held open (and kept alive) while the worker
drains its other jobs, and the process then exits, taking the thread with it (Laravel's
timed-out job kills its worker). The worker registers a callback here; activities only report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("jobmodule.worker")

TAINTED_EXIT_CODE = 75
"""Exit code of a worker process replaced because a job could not be stopped (EX_TEMPFAIL)."""


class ProcessHealth:
    """One per process: tainted once, by the first job that could not be stopped."""

    def __init__(self) -> None:
        self.taint_reason: str | None = None
        self.stuck = 0
        """Attempts held open because their thread could not be stopped."""
        self._listeners: list[Callable[[str], None]] = []

    @property
    def tainted(self) -> bool:
        return self.taint_reason is not None

    def on_taint(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` when the process is tainted (the worker drains and exits)."""
        self._listeners.append(listener)

    def taint(self, reason: str) -> None:
        """Mark the process as unable to stop a job; the first reason wins."""
        self.stuck += 1
        if self.taint_reason is not None:
            return
        self.taint_reason = reason
        log.error("worker process tainted, it will drain and exit: %s", reason)
        for listener in self._listeners:
            listener(reason)


process_health = ProcessHealth()
"""This process's health: the activities report to it, the worker listens."""
