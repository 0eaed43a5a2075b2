"""Reading what ``RecordsRun`` jobs wrote: which ran first, and which ran at the same time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One finished job: its tag, when it started and ended (epoch seconds), its attempt."""

    tag: str
    start: float
    end: float
    attempt: int


def runs(path: Path) -> list[Run]:
    """Every run recorded in ``path``, in the order they started."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        tag, start, end, attempt = line.split()
        found.append(Run(tag, float(start), float(end), int(attempt)))
    return sorted(found, key=lambda run: run.start)


def most_at_once(recorded: list[Run]) -> int:
    """The largest number of runs that were running at one instant."""
    edges = sorted([(r.start, 1) for r in recorded] + [(r.end, -1) for r in recorded])
    running = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        peak = max(peak, running)
    return peak


def overlap(a: Run, b: Run) -> bool:
    """Whether two runs were running at the same time."""
    return a.start < b.end and b.start < a.end
