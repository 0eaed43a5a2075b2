"""Listing batches, newest first, one page at a time: the dashboard's and ``jobmodule batches``'
view of many batches at once.

A page costs one visibility page plus one read per batch, all in flight together: a running
batch answers its ``status`` query (a few ms where a worker polls its queue), a closed one its
result, read from the close event alone. A batch that can answer neither (no worker polls its
queue) shows the counters of its memo, as ``JobMonitor`` does.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from jobmodule.activities import JobBatch
from jobmodule.batches.start import NAME_MEMO
from jobmodule.connection import with_search_attributes
from jobmodule.workflows import BATCH_ID, JOB_QUEUE, BatchWorkflow
from jobmodule.workflows.batch_models import COUNTERS_MEMO

BATCH_QUERY = 'WorkflowType = "BatchWorkflow"'
READ_TIMEOUT = timedelta(seconds=2)
"""A batch on a queue no worker polls cannot answer its query; its memo speaks after this."""
MAX_LIMIT = 200


class BatchSummary(BaseModel):
    """One batch of a listing: its counters and where it runs."""

    batch: JobBatch
    queue: str
    status: str
    """The batch workflow's execution status: running, completed, cancelled, terminated, ..."""
    started_at: datetime | None = None
    exact: bool = True
    """False when the counters come from the memo (no worker answered): they may lag."""


class BatchPage(BaseModel):
    """One page of batches; pass ``next_page_token`` back for the next one."""

    batches: list[BatchSummary] = Field(default_factory=list)
    next_page_token: str | None = None


async def list_batches(
    client: Client, *, limit: int = 20, page_token: str | None = None
) -> BatchPage:
    """Batches newest first, at most ``limit`` (1..200) per page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}, not {limit}")
    token = base64.urlsafe_b64decode(page_token.encode()) if page_token else None

    async def page() -> tuple[list[WorkflowExecution], bytes | None]:
        listing = client.list_workflows(BATCH_QUERY, page_size=limit, next_page_token=token)
        await listing.fetch_next_page()
        return list(listing.current_page or []), listing.next_page_token

    executions, next_token = await with_search_attributes(client, page)
    rows = await asyncio.gather(*(_summary(client, execution) for execution in executions))
    return BatchPage(
        batches=list(rows),
        next_page_token=base64.urlsafe_b64encode(next_token).decode() if next_token else None,
    )


async def _summary(client: Client, execution: WorkflowExecution) -> BatchSummary:
    batch_id = execution.typed_search_attributes.get(BATCH_ID) or execution.id
    memo = await execution.memo()
    handle = client.get_workflow_handle(execution.id, result_type=JobBatch)
    running = execution.status == WorkflowExecutionStatus.RUNNING
    batch: JobBatch | None = None
    try:
        if running:
            batch = await handle.query(BatchWorkflow.status, rpc_timeout=READ_TIMEOUT)
        elif execution.status == WorkflowExecutionStatus.COMPLETED:
            batch = await asyncio.wait_for(handle.result(), READ_TIMEOUT.total_seconds())
    except Exception:  # no worker to answer, or closed meanwhile: the memo speaks
        batch = None
    exact = batch is not None
    if batch is None:
        counters = memo.get(COUNTERS_MEMO) or {}
        pending = int(counters.get("pending_jobs") or 0)
        failed = int(counters.get("failed_jobs") or 0)
        batch = JobBatch(
            id=batch_id,
            name=str(memo.get(NAME_MEMO) or ""),
            pending_jobs=pending,
            failed_jobs=failed,
            finished=bool(counters.get("finished")) or not running,
            cancelled=execution.status == WorkflowExecutionStatus.CANCELED,
            created_at=execution.start_time,
        )
    status = execution.status.name.lower() if execution.status else "unknown"
    return BatchSummary(
        batch=batch,
        queue=execution.typed_search_attributes.get(JOB_QUEUE) or execution.task_queue,
        status="cancelled" if status == "canceled" else status,
        started_at=execution.start_time,
        exact=exact,
    )
