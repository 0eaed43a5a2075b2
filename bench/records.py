"""Execution records: one ``id time`` line per execution, appended with O_APPEND.

Lines under PIPE_BUF are written atomically, so concurrent workers and processes never tear
each other's lines; counting them afterwards gives lost and duplicate executions.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


def record(path: str, item: str) -> None:
    """Append ``item`` and the current time as one line."""
    line = f"{item} {time.time():.6f}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_records(path: Path) -> list[tuple[str, float]]:
    """Every ``(item, time)`` recorded in ``path`` (empty when the file does not exist)."""
    if not path.exists():
        return []
    out: list[tuple[str, float]] = []
    for line in path.read_text().splitlines():
        item, _, stamp = line.partition(" ")
        if stamp:
            out.append((item, float(stamp)))
    return out


def count_lines(path: Path) -> int:
    """Number of records so far (cheap enough to poll every 100 ms)."""
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


@dataclass(frozen=True)
class Tally:
    """What a set of execution records says about ``expected`` distinct items."""

    executed: int
    distinct: int
    lost: int
    duplicates: int
    first_after: float | None
    last_first_execution: float | None


def tally(path: Path, expected: int, *, after: float | None = None) -> Tally:
    """Count lost and duplicate executions; times are of the first record after ``after``."""
    rows = read_records(path)
    counts = Counter(item for item, _ in rows)
    first_seen: dict[str, float] = {}
    for item, stamp in rows:
        first_seen.setdefault(item, stamp)
    later = [stamp for _, stamp in rows if after is not None and stamp >= after]
    return Tally(
        executed=len(rows),
        distinct=len(counts),
        lost=max(0, expected - len(counts)),
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        first_after=min(later) if later else None,
        last_first_execution=max(first_seen.values()) if first_seen else None,
    )
