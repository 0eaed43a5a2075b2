"""Job classes the tests dispatch. Workers load them as ``tests.sample_jobs``."""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from jobmodule import Job, JobFailure

# In-process workers share these with the tests (keyed by a per-test token).
attempt_times: dict[str, list[float]] = defaultdict(list)
failed_calls: dict[str, list[JobFailure]] = defaultdict(list)


class Add(Job):
    """Succeeds at once."""

    a: int
    b: int = 0

    async def handle(self) -> int:
        return self.a + self.b


class SyncAdd(Job):
    """A plain ``def handle`` runs in a thread."""

    a: int

    def handle(self) -> dict[str, Any]:
        return {"sum": self.a + 1, "attempt": self.attempts()}


class FlakyTwice(Job):
    """Fails on attempts 1 and 2, succeeds on 3; records when each attempt began."""

    token: str
    tries = 3
    backoff = [1, 2]

    async def handle(self) -> int:
        attempt_times[self.token].append(time.monotonic())
        if self.attempts() < 3:
            raise RuntimeError(f"flaky failure on attempt {self.attempts()}")
        return self.attempts()


class AlwaysFails(Job):
    """Fails every time; its failed() hook records each call."""

    token: str
    tries = 2
    backoff = 0

    async def handle(self) -> None:
        attempt_times[self.token].append(time.monotonic())
        raise ValueError(f"boom {self.token}")

    async def failed(self, failure: JobFailure) -> None:
        failed_calls[self.token].append(failure)


class FailsUntilFlagged(Job):
    """Fails until a marker file exists: lets a test fix the cause, then retry from the DLQ."""

    marker: str
    tries = 1

    def handle(self) -> str:
        if not Path(self.marker).exists():
            raise RuntimeError("marker missing")
        return "fixed"


class GivesUp(Job):
    """Calls ``self.fail()``: no retries even with tries left."""

    token: str
    tries = 5

    async def handle(self) -> None:
        attempt_times[self.token].append(time.monotonic())
        self.fail("bad record")


class Releases(Job):
    """Calls ``self.release(delay)`` once, then succeeds."""

    token: str
    tries = 3

    async def handle(self) -> int:
        attempt_times[self.token].append(time.monotonic())
        if self.attempts() == 1:
            self.release(1)
        return self.attempts()


class Sleeps(Job):
    """Sleeps, then returns; for delay, deadline and shutdown tests."""

    seconds: float
    token: str = ""
    timeout = 30

    async def handle(self) -> str:
        attempt_times[self.token].append(time.monotonic())
        await asyncio.sleep(self.seconds)
        return "slept"


class WritesFile(Job):
    """Sleeps, then appends a line to a file; proves exactly-once completion across processes."""

    path: str
    seconds: float = 0.0
    timeout = 5
    tries = 3  # a worker crash costs an attempt, as in Laravel

    def handle(self) -> str:
        Path(self.path + ".started").open("a").write("started\n")
        time.sleep(self.seconds)
        Path(self.path).open("a").write("done\n")
        return "written"


class Big(Job):
    """Carries a blob, for the payload size limit."""

    blob: str

    async def handle(self) -> int:
        return len(self.blob)


# -- batches ---------------------------------------------------------------------------------

callback_runs: dict[str, list[tuple[str, Any]]] = defaultdict(list)
fixed_tokens: set[str] = set()
"""FailsIf jobs of these tokens no longer fail (the operator 'fixed the cause')."""
batch_runs: dict[str, list[int]] = defaultdict(list)


class Noop(Job):
    """Does nothing, fast; records that it ran."""

    token: str = ""
    i: int = 0

    async def handle(self) -> None:
        if self.token:
            batch_runs[self.token].append(self.i)


gates: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
"""Gated jobs of a token wait until its event is set (in-process workers only)."""


class Gated(Job):
    """Waits for ``gates[gate or token]``, then records that it ran: holds work back on demand."""

    token: str
    i: int = 0
    gate: str = ""

    async def handle(self) -> None:
        await gates[self.gate or self.token].wait()
        batch_runs[self.token].append(self.i)


class FailsIf(Job):
    """Fails (for good, tries=1) when ``i`` is in ``bad``; optionally slow."""

    token: str
    i: int
    bad: list[int] = []
    seconds: float = 0.0

    async def handle(self) -> None:
        if self.seconds:
            await asyncio.sleep(self.seconds)
        batch_runs[self.token].append(self.i)
        if self.i in self.bad and self.token not in fixed_tokens:
            raise RuntimeError(f"item {self.i} is bad")


class FlakyOnce(Job):
    """Fails its first attempt, succeeds on the second (tries=2)."""

    token: str
    i: int
    tries = 2
    backoff = 0

    async def handle(self) -> int:
        batch_runs[self.token].append(self.i)
        if self.attempts() == 1:
            raise RuntimeError("first attempt fails")
        return self.attempts()


class RecordCallback(Job):
    """A then/catch/finally callback that records its role, its batch and its failure."""

    token: str
    role: str

    async def handle(self) -> None:
        callback_runs[self.token].append((self.role, (self.batch, self.batch_failure)))


class AppendLine(Job):
    """Appends its index to a file (O_APPEND, one line): counts executions across processes."""

    path: str
    i: int
    seconds: float = 0.02
    timeout = 10

    def handle(self) -> None:
        time.sleep(self.seconds)
        with open(self.path, "a") as out:
            out.write(f"{self.i}\n")


class CountsTo(Job):
    """Counts to ``n``, heartbeating each step; resumes from the last checkpoint after a crash."""

    path: str
    n: int
    tries = 3
    heartbeat_timeout = 2
    timeout = 120

    def handle(self) -> int:
        start = self.checkpoint() or 0
        with open(self.path, "a") as out:
            out.write(f"start {start}\n")
        for step in range(start, self.n):
            time.sleep(0.05)
            self.heartbeat(step + 1)
        with open(self.path, "a") as out:
            out.write("done\n")
        return int(start)


class LocalFlaky(Job):
    """A short job run as a local activity; fails its first attempt."""

    token: str
    local = True
    tries = 3
    backoff = 1

    async def handle(self) -> int:
        attempt_times[self.token].append(time.monotonic())
        if self.attempts() == 1:
            raise RuntimeError("first local attempt fails")
        return self.attempts()


class RecordsPid(Job):
    """Sleeps, then appends the worker's pid to a file: shows which process ran it."""

    path: str
    seconds: float = 0.3

    def handle(self) -> None:
        time.sleep(self.seconds)
        with open(self.path, "a") as out:
            out.write(f"{os.getpid()}\n")


blocked_tokens: set[str] = set()


class BlocksLoopOnce(Job):
    """Blocks the worker's event loop (a sync call in an async handler) on its first run only:
    its group stops heartbeating, as if its process had died."""

    token: str
    seconds: float = 12

    async def handle(self) -> None:
        if self.token not in blocked_tokens:
            blocked_tokens.add(self.token)
            time.sleep(self.seconds)  # noqa: ASYNC251 - the point: nothing else runs meanwhile


# -- priority and flow control ---------------------------------------------------------------


def _append(path: str, line: str) -> None:
    with Path(path).open("a") as out:
        out.write(line)


class RecordsRun(Job):
    """Appends ``tag start end attempt`` to a file when done: run order and overlap, across
    processes (one O_APPEND write per line)."""

    path: str
    tag: str
    seconds: float = 0.05
    key: str = ""
    timeout = 30

    async def handle(self) -> None:
        start = time.time()
        _append(self.path + ".started", f"{self.tag} {self.attempts()}\n")
        await asyncio.sleep(self.seconds)
        _append(self.path, f"{self.tag} {start:.6f} {time.time():.6f} {self.attempts()}\n")


class RateLimited(RecordsRun):
    """At most 4 starts a second, across every worker."""

    rate_limit = "4/s"


class Exclusive(RecordsRun):
    """Jobs with the same ``key`` never run at once."""

    without_overlapping = "key"


class ExclusiveBrief(RecordsRun):
    """``Exclusive`` with a 3 s attempt timeout and a second try: a dead worker's attempt times
    out quickly, and its lock with it."""

    without_overlapping = "key"
    timeout = 3
    tries = 2


class CappedAtTwo(RecordsRun):
    """At most two run at once, across every worker."""

    max_concurrency = 2


class FlakyCapped(Job):
    """Fails its first attempt; one at a time across workers (its attempts run one by one)."""

    token: str
    tries = 2
    backoff = 0
    max_concurrency = 1

    async def handle(self) -> int:
        if self.attempts() == 1:
            raise RuntimeError("first attempt fails")
        return self.attempts()
