"""Jobs that misbehave on purpose. Worker processes load them as ``tests.faults.fault_jobs``.

They report through files (``path``), since they run in other processes than the test.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobmodule import Job


def note(path: str, line: str) -> None:
    """Append one line to ``path`` (O_APPEND: lines from several processes never mix)."""
    with open(path, "a") as out:
        out.write(line + "\n")


class RecordRun(Job):
    """Notes ``index pid`` when it starts, sleeps, then notes ``index done``."""

    path: str
    i: int
    seconds: float = 0.2
    tries = 3  # a crash of its worker costs an attempt, as in Laravel
    heartbeat_timeout = 3
    timeout = 30

    def handle(self) -> int:
        note(self.path, f"{self.i} {os.getpid()}")
        time.sleep(self.seconds)
        note(self.path, f"{self.i} done")
        return os.getpid()


class Tally(Job):
    """A tiny job that notes its index; many tries, for runs where workers are being killed."""

    path: str
    i: int
    tries = 5
    heartbeat_timeout = 3

    def handle(self) -> None:
        note(self.path, str(self.i))


class Poison(Job):
    """Like RecordRun, but the poisoned one kills its worker process on every attempt."""

    path: str
    i: int
    poison: bool = False
    seconds: float = 0.3
    tries = 2
    heartbeat_timeout = 3
    timeout = 30

    def handle(self) -> None:
        note(self.path, f"{self.i} {os.getpid()}")
        time.sleep(self.seconds)
        if self.poison:
            os._exit(1)  # a segfault, the OOM killer, a C extension gone wrong
        note(self.path, f"{self.i} done")


class StuckSync(Job):
    """A sync job that ignores its timeout; notes ``start pid time overlap`` per attempt."""

    path: str
    seconds: float = 30
    timeout = 2
    tries = 2
    heartbeat_timeout = 3

    def handle(self) -> None:
        earlier = [int(line.split()[1]) for line in _lines(self.path)]
        alive = [pid for pid in earlier if _alive(pid)]
        note(self.path, f"start {os.getpid()} {time.time():.3f} {'overlap' if alive else 'alone'}")
        time.sleep(self.seconds)


class FailsUntilFixed(Job):
    """Fails while the file ``fixed`` names does not exist; notes each run in ``path``."""

    path: str
    fixed: str

    def handle(self) -> str:
        note(self.path, "run")
        if not Path(self.fixed).exists():
            raise RuntimeError("the mail server is down")
        return "sent"


class NotesFailure(Job):
    """A catch callback that notes the failure it was given."""

    path: str

    async def handle(self) -> None:
        failure = self.batch_failure
        note(self.path, failure.model_dump_json() if failure else "none")


def _lines(path: str) -> list[str]:
    file = Path(path)
    return file.read_text().splitlines() if file.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
