"""One attempt of ``handle()`` under its timeout, in ``run_job`` and in group activities alike.

An async handler is cancelled when its timeout passes. A sync handler runs in a thread that
cannot be stopped, so at its timeout the process is tainted (``activities.health``) and the
attempt never returns: the worker drains its other jobs and exits, and the attempt's retry
starts only after the thread is gone, so two attempts of one job never overlap.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from jobmodule.activities.health import process_health


class AttemptTimedOut(Exception):
    """An async handler ran past its timeout and was cancelled."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"attempt exceeded its timeout of {timeout:g}s and was cancelled")


async def run_attempt(
    function: Callable[..., Any],
    *args: Any,
    limit: float,
    job: str,
    on_stuck: Callable[[], None] | None = None,
) -> Any:
    """Call ``function`` (sync or async) and return its result, within ``limit`` seconds.

    ``on_stuck`` runs when a sync handler passes its timeout, before the attempt is held open
    for good (the caller uses it to keep the attempt alive while the process drains).
    """
    if inspect.iscoroutinefunction(function):
        try:
            return await asyncio.wait_for(function(*args), limit)
        except TimeoutError:
            raise AttemptTimedOut(limit) from None
    thread = asyncio.ensure_future(asyncio.to_thread(function, *args))
    done, _ = await asyncio.wait({thread}, timeout=limit)
    if not done:
        process_health.taint(f"sync job {job} ran past its timeout of {limit:g}s")
        if on_stuck is not None:
            on_stuck()
        await _held_until_the_process_exits()
    result = thread.result()
    if inspect.isawaitable(result):
        return await asyncio.wait_for(result, limit)
    return result


async def _held_until_the_process_exits() -> None:
    """Never return, whoever cancels: a reported attempt would be retried beside its thread."""
    forever = asyncio.get_running_loop().create_future()
    while True:
        try:
            await asyncio.shield(forever)
        except asyncio.CancelledError:
            continue
