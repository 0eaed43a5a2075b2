"""Our side's jobs, loaded by the worker as ``python worker.py --jobs bench.jobs``."""

from __future__ import annotations

import asyncio
import time

from bench.csv_import import count_rows, import_chunk
from bench.records import record
from jobmodule import Job


class Noop(Job):
    """Does nothing (W1, W2, W2L)."""

    i: int = 0

    async def handle(self) -> None:
        return None


class Stamp(Job):
    """Returns when it started, for dispatch->start latency (W4)."""

    i: int = 0

    async def handle(self) -> float:
        return time.time()


class StampSleep(Job):
    """Returns when it started, after sleeping a little (W7's backlog and its high jobs)."""

    i: int = 0
    seconds: float = 0.01

    async def handle(self) -> float:
        started = time.time()
        await asyncio.sleep(self.seconds)
        return started


class Hold(Job):
    """Sleeps a long time: holds its batch open (WM's JobMonitor call); cancelled after."""

    i: int = 0
    seconds: float = 300
    timeout = 600

    async def handle(self) -> None:
        await asyncio.sleep(self.seconds)


class Sleep2ms(Job):
    """Sleeps 2 ms, then records its execution (W6).

    ``tries = 3`` and a 10 s timeout: a kill -9 costs the in-flight attempt, which times out and
    runs again (with Laravel's default ``tries = 1`` it would be dead-lettered instead).
    """

    i: int
    path: str
    seconds: float = 0.002
    tries = 3
    timeout = 10

    async def handle(self) -> None:
        await asyncio.sleep(self.seconds)
        record(self.path, str(self.i))


class RecordCallback(Job):
    """The batch's then-callback: records that it ran (W2, W2L, W6)."""

    path: str
    tries = 3

    def handle(self) -> None:
        record(self.path, "callback")


class ImportChunk(Job):
    """Imports one chunk of the W3 CSV; the payload is an offset, not the rows."""

    csv_path: str
    offset: int
    rows: int
    db: str
    tries = 3
    timeout = 300

    def handle(self) -> int:
        return import_chunk(self.csv_path, self.offset, self.rows, self.db)


class ImportDone(Job):
    """W3's callback: records how many rows arrived."""

    db: str
    path: str
    tries = 3

    def handle(self) -> None:
        record(self.path, f"rows={count_rows(self.db)}")


class Rejects(Job):
    """Fails for good on its one try: WD's dead-letter queue (a few root-cause groups)."""

    i: int = 0
    kind: int = 0
    tries = 1

    async def handle(self) -> None:
        rule = REJECT_RULES[self.kind % len(REJECT_RULES)]
        raise ValueError(f"row {self.i} rejected: {rule}")


REJECT_RULES = ("missing email", "bad amount", "duplicate id", "unknown country", "expired card")
"""Five messages that stay apart once numbers are blanked: five root-cause groups."""
