"""A live progress bar for a batch: counts, rate and ETA (``batch.wait(progress=True)``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jobmodule.activities import JobBatch

REFRESH_SECONDS = 0.5


async def follow_batch(
    status: Callable[[], Awaitable[JobBatch]], finished: Awaitable[JobBatch]
) -> JobBatch:
    """Draw ``status()`` as a bar until ``finished`` is done; return what it returned.

    Takes the batch's calls rather than its handle, so the handle can import this module.
    """
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    waiting = asyncio.ensure_future(finished)
    with Progress(*columns) as progress:
        task = progress.add_task("batch", total=None, failed=0)
        while not waiting.done():
            batch = await status()
            done = batch.processed_jobs + batch.failed_jobs
            progress.update(
                task,
                description=batch.name or batch.id,
                total=batch.total_jobs or None,
                completed=done,
                failed=batch.failed_jobs,
            )
            await asyncio.wait({waiting}, timeout=REFRESH_SECONDS)
        final = waiting.result()
        done = final.processed_jobs + final.failed_jobs
        progress.update(task, total=final.total_jobs, completed=done, failed=final.failed_jobs)
    return final
