"""What monitoring reads from the server besides the metrics state: visibility, the open
batches' and chains' counters, and the task queues' backlog.

Every read is per queue or per open batch, never per job: a JobMonitor call costs a few count
queries per queue, one listing of the open batches and chains, and one query to each of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecution

from jobmodule.activities import JobBatch
from jobmodule.connection import with_search_attributes
from jobmodule.visibility import all_of, dead_letter_query, equals, job_filters, quote
from jobmodule.workflows import JOB_QUEUE, JOB_STATUS, BatchWorkflow, ChainWorkflow, JobState
from jobmodule.workflows.batch_models import COUNTERS_MEMO
from jobmodule.workflows.job_start import CHAIN_JOBS_MEMO

T = TypeVar("T")

READS_IN_FLIGHT = 32
"""Queries to open batches and chains sent at once."""
QUERY_TIMEOUT = timedelta(seconds=2)
"""A batch on a queue no worker polls cannot answer; it counts as unknown after this."""
OPEN_STATES = (JobState.QUEUED.value, JobState.RETRYING.value)
"""``JobStatus`` of a job that is neither settled nor dead-lettered (running jobs included)."""


@dataclass
class GroupCounters:
    """What one open batch or chain holds: jobs not finished yet, and failed for good."""

    queue: str
    open_jobs: int
    failed_jobs: int


async def count(client: Client, query: str) -> int:
    """One visibility count."""
    return (await with_search_attributes(client, lambda: client.count_workflows(query))).count


async def job_counts(
    client: Client, queue: str, job: str | None, now: datetime
) -> tuple[int, int, int]:
    """The queue's open JobWorkflows, those still in their start delay, and dead-lettered ones."""
    open_jobs = all_of(
        'WorkflowType = "JobWorkflow"',
        'ExecutionStatus = "Running"',
        f"{JOB_STATUS.name} IN ({', '.join(quote(state) for state in OPEN_STATES)})",
        *job_filters(queue=queue, job=job),
    )
    delayed = all_of(open_jobs, f"ExecutionTime > {quote(now.isoformat())}")
    opened, waiting, dead = await asyncio.gather(
        count(client, open_jobs),
        count(client, delayed),
        count(client, dead_letter_query(queue=queue, job=job)),
    )
    return opened, waiting, dead


async def open_groups(
    client: Client, queue: str | None, live_queues: set[str]
) -> list[GroupCounters]:
    """The counters of every open batch and chain (on ``queue``), read concurrently.

    A running batch is asked by query where a worker polls its queue (``live_queues``): exact,
    and the main cost of a JobMonitor call (a few ms each). A finished one (open for
    ``retry_failed()``) has its final counters in its memo; where no worker could answer, the
    memo speaks too: the counters as of the batch's start (when it came whole), a chain's
    length.
    """
    clauses = ['ExecutionStatus = "Running"', 'WorkflowType IN ("BatchWorkflow", "ChainWorkflow")']
    if queue:
        clauses.append(equals(JOB_QUEUE.name, queue))
    query = all_of(*clauses)

    async def listing() -> list[WorkflowExecution]:
        return [execution async for execution in client.list_workflows(query)]

    executions = await with_search_attributes(client, listing)
    reads = [_counters_of(client, execution, live_queues) for execution in executions]
    return [counters for counters in await bounded(reads) if counters is not None]


async def _counters_of(
    client: Client, execution: WorkflowExecution, live_queues: set[str]
) -> GroupCounters | None:
    queue = execution.typed_search_attributes.get(JOB_QUEUE) or execution.task_queue
    memo = await execution.memo()
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    ask = execution.task_queue in live_queues
    if execution.workflow_type == "BatchWorkflow":
        counters = memo.get(COUNTERS_MEMO) or {}
        pending, failed = counters.get("pending_jobs"), counters.get("failed_jobs")
        if ask and not counters.get("finished"):  # a finished batch's memo is final
            try:
                batch: JobBatch = await handle.query(
                    BatchWorkflow.status, rpc_timeout=QUERY_TIMEOUT
                )
                pending, failed = batch.pending_jobs, batch.failed_jobs
            except Exception:  # closed meanwhile, or its worker went: the memo, if any
                pass
        if pending is None:
            return None
        # A batch job that failed for good waits in the dead-letter queue on its own (parked
        # with its BatchId): the dead-letter count has it already, so it is not counted twice.
        del failed
        return GroupCounters(queue, int(pending), 0)
    total = memo.get(CHAIN_JOBS_MEMO)
    if not isinstance(total, int):
        return None  # a chain started before chains carried their length
    completed = 0
    if ask:
        try:
            completed = await handle.query(ChainWorkflow.completed, rpc_timeout=QUERY_TIMEOUT)
        except Exception:
            pass
    return GroupCounters(queue, max(0, total - completed), 0)


async def bounded(reads: Sequence[Awaitable[T]], limit: int = READS_IN_FLIGHT) -> list[T]:
    """Await ``reads`` with at most ``limit`` in flight."""
    semaphore = asyncio.Semaphore(limit)

    async def one(read: Awaitable[T]) -> T:
        async with semaphore:
            return await read

    return list(await asyncio.gather(*(one(read) for read in reads)))


async def backlog_age(client: Client, queue: str) -> float | None:
    """Seconds the oldest task has waited in the queue (workflow or activity tasks), if any.

    The server caches these statistics for about 5 s, and leaves out sticky queues.
    """

    async def describe(kind: Any) -> float:
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=kind,
            report_stats=True,
        )
        response = await client.workflow_service.describe_task_queue(request)
        if not response.stats.approximate_backlog_count:
            return 0.0
        return float(response.stats.approximate_backlog_age.ToTimedelta().total_seconds())

    ages = await asyncio.gather(
        describe(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        describe(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    )
    oldest = max(ages)
    return round(oldest, 3) if oldest > 0 else None
