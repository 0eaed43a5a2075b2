"""Starting a batch's workflow and streaming its pages in, shared by ``Bus`` and coalescing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from jobmodule.activities import BatchItem, JobBatch, ids
from jobmodule.connection import with_search_attributes
from jobmodule.rpc import execute_update, is_not_found
from jobmodule.workflows import AddPageInput, BatchInput, BatchWorkflow, batch_search_attributes
from jobmodule.workflows.batch_models import BATCH_CLOSED, COUNTERS_MEMO, counters_memo

NAME_MEMO = "batch_name"
"""Memo key of a batch's name, so a listing shows it without describing each batch."""
PAGES_IN_FLIGHT = 4
"""Pages sent before the first is acknowledged: hides the round trip, bounds client memory."""


async def start_batch(client: Client, batch: BatchInput, *, summary: str) -> None:
    """Start a batch's workflow, tagged so the Web UI and ``jobmodule batches`` can find it."""
    queue = batch.options.queue
    await with_search_attributes(
        client,
        lambda: client.start_workflow(
            BatchWorkflow.run,
            batch,
            id=batch.batch_id,
            task_queue=queue,
            search_attributes=batch_search_attributes(batch.batch_id, queue),
            memo=start_memo(batch),
            static_summary=summary,
        ),
    )


def start_memo(batch: BatchInput) -> dict[str, Any]:
    """The batch's name, and, when its first page is all of it, its counters at the start."""
    memo: dict[str, Any] = {NAME_MEMO: batch.options.name}
    if batch.sealed:
        jobs = sum(len(item.jobs) for item in batch.first_page)
        memo[COUNTERS_MEMO] = counters_memo(JobBatch(id=batch.batch_id, pending_jobs=jobs))
    return memo


def cancelled_while_streaming(error: WorkflowUpdateFailedError | RPCError) -> bool:
    """Whether a refused page means the batch was cancelled (it cannot finish before sealed)."""
    if isinstance(error, WorkflowUpdateFailedError):
        cause = error.cause
        return isinstance(cause, ApplicationError) and cause.type == BATCH_CLOSED
    return is_not_found(error)  # cancelled, and closed already


async def send_pages(
    workflow: WorkflowHandle[Any, Any], pages: Iterator[tuple[list[BatchItem], bool]]
) -> None:
    """Stream pages as ``add_page`` updates, a few at a time; the sealing page goes last."""
    in_flight: set[asyncio.Task[Any]] = set()

    async def settle(until: int) -> None:
        nonlocal in_flight
        while len(in_flight) > until:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise a failed update

    def update(page: list[BatchItem], seal: bool) -> Any:
        request = AddPageInput(page_id=ids.new_page_id(), items=page, seal=seal)
        return execute_update(
            workflow, BatchWorkflow.add_page, args=[request], result_type=JobBatch
        )

    try:
        for page, last in pages:
            if last:
                await settle(0)  # every other page is in before the batch may finish
                await update(page, True)
                return
            in_flight.add(asyncio.ensure_future(update(page, False)))
            await settle(PAGES_IN_FLIGHT - 1)
    finally:
        for task in in_flight:
            task.cancel()
