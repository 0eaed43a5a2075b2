"""Small helpers both drivers share: bounded concurrency, polling with a deadline, percentiles."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bench.records import count_lines, tally

T = TypeVar("T")


class Skipped(Exception):
    """A workload this system cannot run (yet); the reason goes into the results."""


async def gather_bounded(
    count: int, make: Callable[[int], Awaitable[T]], limit: int = 200
) -> list[T]:
    """Run ``make(0..count-1)`` with at most ``limit`` in flight; results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(i: int) -> T:
        async with semaphore:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(prefix: str, seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds under ``{prefix}_p50_ms`` etc."""
    ms = [s * 1000 for s in seconds]
    return {f"{prefix}_p{q}_ms": round(percentile(ms, q), 2) for q in (50, 95, 99)}


async def poll_until(
    check: Callable[[], Awaitable[bool]], *, limit_s: float, interval: float = 0.1
) -> float:
    """Await ``check()`` until true; return the wall time it first was. Raise on timeout."""
    deadline = time.monotonic() + limit_s
    while True:
        if await check():
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {limit_s:.0f}s")
        await asyncio.sleep(interval)


async def wait_for_file_line(path: Path, *, limit_s: float) -> float:
    """Wait until ``path`` holds a record; return that record's time."""

    async def exists() -> bool:
        return count_lines(path) > 0

    await poll_until(exists, limit_s=limit_s, interval=0.05)
    return tally(path, 1).last_first_execution or time.time()


async def watch_executions(
    records: Path,
    expected: int,
    *,
    limit_s: float,
    stall_s: float,
    done: Callable[[], bool] = lambda: False,
) -> bool:
    """Wait until ``expected`` distinct items ran (or ``done()``); False when work stalled.

    Stalled means no new record for ``stall_s`` seconds: lost work that will never come back.
    """
    deadline = time.monotonic() + limit_s
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        if done():
            return True
        count = count_lines(records)
        if count != last_count:
            last_count, last_change = count, time.monotonic()
            if count >= expected and tally(records, expected).lost == 0:
                return True
        elif time.monotonic() - last_change > stall_s:
            return False
        await asyncio.sleep(0.2)
    return False


async def crash_outcome(
    record: Path,
    callback_record: Path,
    *,
    count: int,
    killed: float,
    grouped: bool,
    limit_s: float,
    stall_s: float,
) -> dict[str, float | None]:
    """W6/W6I after the kill: wait for the executions to settle, then count what happened."""
    settled = await watch_executions(
        record, count, limit_s=limit_s, stall_s=stall_s, done=lambda: callback_record.exists()
    )
    if grouped:
        wait = stall_s if settled else 5.0  # work was lost: the callback cannot run
        await watch_executions(callback_record, 1, limit_s=wait, stall_s=wait)
        await asyncio.sleep(2)  # a duplicate callback would show up here
    counts = tally(record, count, after=killed)
    callbacks = tally(callback_record, 1)
    end = (callbacks.last_first_execution if grouped else None) or (
        counts.last_first_execution or time.time()
    )
    return {
        "lost": counts.lost,
        "duplicates": counts.duplicates,
        "callback_runs": callbacks.executed if grouped else None,
        "recovery_s": (counts.first_after - killed) if counts.first_after else None,
        "kill_to_done_s": end - killed,
        "executions": counts.executed,
    }
