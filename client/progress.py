"""A live progress bar for a batch: counts, rate and ETA (``batch.wait(progress=True)``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from activities import JobBatch

if TYPE_CHECKING:
    from client.batch_handle import BatchHandle

REFRESH_SECONDS = 0.5


async def follow_batch(handle: BatchHandle) -> JobBatch:
    """Draw the batch's progress until it finished and its callbacks ran; return the final state."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    waiting = asyncio.create_task(handle.wait())
    with Progress(*columns) as progress:
        task = progress.add_task(handle.id, total=None, failed=0)
        while not waiting.done():
            batch = await handle.status()
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
