"""``--processes N``: N worker processes, kept alive, recycled, and drained together.

Sync ``handle()`` methods share one interpreter lock per process, so CPU-bound jobs need more
processes, as Celery's prefork pool has. The supervisor (Horizon's supervisor, supervisord's
job) restarts a child that exits or is killed, backing off when one crash-loops; replaces a
child that asks to be recycled (``--max-jobs``, ``--max-time``, ``--max-memory``) or that is
tainted by a job it could not stop, starting the replacement first; kills a child that stops
saying it is alive; and on SIGTERM/SIGINT drains every child and exits 0. Each restart and
recycle is logged with its reason.

Children talk to it over a pipe, one line per message: ``ready PID``, ``alive``, ``recycle
REASON``, ``tainted REASON`` (``jobmodule.worker.life``).
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from jobmodule.activities.health import TAINTED_EXIT_CODE
from jobmodule.worker.life import ALIVE_EVERY_SECONDS, SUPERVISOR_FD_ENV

log = logging.getLogger("jobmodule.supervisor")

QUICK_DEATH_SECONDS = 10.0
"""A child that dies sooner than this after its start counts towards a crash loop."""
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
SILENT_LIMIT_SECONDS = 15 * ALIVE_EVERY_SECONDS
"""A ready child that says nothing for this long is hung: it is killed and replaced."""
DRAIN_MARGIN_SECONDS = 30.0
"""On stop, children get their grace period plus this to drain before they are killed."""


@dataclass
class Child:
    """One worker process and what the supervisor knows of it."""

    process: subprocess.Popen[bytes]
    channel: int
    slot: int
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    last_heard: float = field(default_factory=time.monotonic)
    leaving: str | None = None
    """Why it is on its way out (recycled, tainted): its exit is expected, not a crash."""
    replaced_by: Child | None = None
    buffer: bytes = b""

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    """Keeps ``processes`` children running ``command``; see the module docstring."""

    def __init__(
        self, command: Callable[[int], list[str]], processes: int, *, grace: float
    ) -> None:
        self._command = command
        self._processes = processes
        self._grace = grace
        self._children: list[Child] = []
        self._selector = selectors.DefaultSelector()
        self._stopping = False
        self._backoff: dict[int, float] = {}
        self._restart_at: dict[int, float] = {}

    def run(self) -> int:
        """Run until SIGTERM/SIGINT, then drain every child; return the exit code."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self._processes):
            self._start(slot)
        stop_deadline: float | None = None
        while True:
            self._read_messages(timeout=0.2)
            self._reap()
            if self._stopping:
                stop_deadline = stop_deadline or (
                    time.monotonic() + self._grace + DRAIN_MARGIN_SECONDS
                )
                if not self._children:
                    log.info("every worker process drained; supervisor exiting")
                    return 0
                if time.monotonic() > stop_deadline:
                    for child in self._children:
                        log.warning("pid %s did not drain in time; killing it", child.pid)
                        child.process.kill()
                continue
            self._restart_due()
            self._kill_silent()

    # -- children ------------------------------------------------------------------------------

    def _start(self, slot: int) -> Child:
        read, write = os.pipe()
        env = {**os.environ, SUPERVISOR_FD_ENV: str(write)}
        process = subprocess.Popen(self._command(slot), env=env, pass_fds=(write,))
        os.close(write)
        os.set_blocking(read, False)
        child = Child(process=process, channel=read, slot=slot)
        self._selector.register(read, selectors.EVENT_READ, child)
        self._children.append(child)
        log.info("started worker process pid %s (slot %s)", process.pid, slot)
        return child

    def _read_messages(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            child: Child = key.data
            try:
                data = os.read(child.channel, 65536)
            except BlockingIOError:
                continue
            if not data:
                self._selector.unregister(child.channel)
                continue
            child.buffer += data
            *lines, child.buffer = child.buffer.split(b"\n")
            for line in lines:
                self._on_message(child, line.decode(errors="replace").strip())

    def _on_message(self, child: Child, message: str) -> None:
        child.last_heard = time.monotonic()
        kind, _, detail = message.partition(" ")
        if kind == "ready":
            child.ready = True
            for old in self._children:
                if old.replaced_by is child and old.process.poll() is None:
                    log.info("replacement pid %s polls; draining pid %s", child.pid, old.pid)
                    old.process.send_signal(signal.SIGTERM)
        elif kind == "recycle" and child.leaving is None and not self._stopping:
            log.info("recycling pid %s: %s", child.pid, detail)
            child.leaving = f"recycled: {detail}"
            child.replaced_by = self._start(child.slot)
        elif kind == "tainted" and child.leaving is None:
            log.warning("pid %s is tainted and exits: %s", child.pid, detail)
            child.leaving = f"tainted: {detail}"
            if not self._stopping:
                self._start(child.slot)  # it drains by itself; no need to wait for this one

    def _reap(self) -> None:
        for child in list(self._children):
            code = child.process.poll()
            if code is None:
                continue
            self._children.remove(child)
            if child.channel in self._selector.get_map():
                self._selector.unregister(child.channel)
            os.close(child.channel)
            if self._stopping:
                log.info("pid %s drained and exited (%s)", child.pid, _describe(code))
                continue
            if child.leaving is not None or code == TAINTED_EXIT_CODE:
                log.info("pid %s exited (%s) after it was %s", child.pid, _describe(code),
                         child.leaving or "tainted")  # fmt: skip
                if child.leaving is None:
                    self._start(child.slot)  # tainted before it could say so
                continue
            self._schedule_restart(child, code)

    def _schedule_restart(self, child: Child, code: int) -> None:
        lived = time.monotonic() - child.started
        backoff = 0.0
        if lived < QUICK_DEATH_SECONDS:
            previous = self._backoff.get(child.slot, 0.0)
            backoff = min(max(previous * 2, BACKOFF_FIRST_SECONDS), BACKOFF_MAX_SECONDS)
        self._backoff[child.slot] = backoff
        log.warning(
            "worker process pid %s died (%s) after %.1fs; restarting %s",
            child.pid,
            _describe(code),
            lived,
            f"in {backoff:g}s (it keeps dying)" if backoff else "now",
        )
        self._restart_at[child.slot] = time.monotonic() + backoff

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot, when in list(self._restart_at.items()):
            if now >= when:
                del self._restart_at[slot]
                self._start(slot)

    def _kill_silent(self) -> None:
        now = time.monotonic()
        for child in self._children:
            if (
                child.ready
                and child.leaving is None
                and now - child.last_heard > SILENT_LIMIT_SECONDS
            ):
                log.warning("pid %s stopped answering for %.0fs; killing it", child.pid,
                            now - child.last_heard)  # fmt: skip
                child.process.kill()

    def _stop(self, signum: int, _frame: object) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("%s: draining %d worker process(es)", signal.Signals(signum).name,
                 len(self._children))  # fmt: skip
        self._restart_at.clear()
        for child in self._children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)


def _describe(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def supervise(child_arguments: Callable[[int], list[str]], processes: int, *, grace: float) -> int:
    """Run ``python -m jobmodule.worker ARGS`` ``processes`` times, supervised; a child's
    arguments come from ``child_arguments(slot)``."""

    def command(slot: int) -> list[str]:
        return [sys.executable, "-m", "jobmodule.worker", *child_arguments(slot)]

    return Supervisor(command, processes, grace=grace).run()
