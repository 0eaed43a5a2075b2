"""A listed ``JobWorkflow`` as a ``JobInfo`` row, and what its description adds to it.

Visibility knows a job's class, queue, batch and settled state; only a run's description (its
pending activity) tells queued from running and counts attempts, so open rows are described,
a bounded number at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError

from jobmodule.activities import JobFailure
from jobmodule.jobs.handle import CLOSED_STATES, running_attempt, state_from_description
from jobmodule.jobs.info import JobInfo
from jobmodule.rpc import is_not_found
from jobmodule.workflows import search_attributes as sa
from jobmodule.workflows.states import JobState

DESCRIBE_CONCURRENCY = 16
"""Open runs described at once, to tell queued from running (one RPC each)."""
VISIBLE_ONLY = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.RETRYING})
"""States visibility cannot tell apart: the search describes each open run to decide."""


async def rows_of(client: Client, executions: Sequence[WorkflowExecution]) -> list[JobInfo]:
    """Rows of listed JobWorkflows; the open, unparked ones read their state from a describe."""
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def row(execution: WorkflowExecution) -> JobInfo:
        info = await row_from_listing(execution)
        if info.status not in VISIBLE_ONLY:
            return info
        async with gate:
            try:
                description = await client.get_workflow_handle(execution.id).describe()
            except RPCError as error:
                if is_not_found(error):
                    return info
                raise
        return with_description(info, description)

    return list(await asyncio.gather(*(row(execution) for execution in executions)))


async def row_from_listing(execution: WorkflowExecution) -> JobInfo:
    """A row from what visibility (or a description) says of a JobWorkflow."""
    attributes = execution.typed_search_attributes
    recorded = attributes.get(sa.JOB_STATUS)
    status = execution.status
    if status == WorkflowExecutionStatus.COMPLETED:
        state = JobState(recorded) if recorded else JobState.SUCCEEDED
    elif status == WorkflowExecutionStatus.RUNNING:
        parked = recorded == JobState.DEAD_LETTERED
        state = JobState.DEAD_LETTERED if parked else JobState(recorded or JobState.QUEUED)
    else:
        state = CLOSED_STATES.get(status, JobState.TERMINATED) if status else JobState.TERMINATED
    failure = None
    if state in (JobState.DEAD_LETTERED, JobState.EXPIRED):
        failure = memo_failure(await execution.memo())
    return JobInfo(
        id=execution.id,
        job=attributes.get(sa.JOB_CLASS) or "",
        queue=attributes.get(sa.JOB_QUEUE) or execution.task_queue,
        status=state,
        batch_id=attributes.get(sa.BATCH_ID),
        dispatched_at=execution.start_time,
        closed_at=execution.close_time,
        attempts=failure.attempts if failure else 0,
        failure=failure,
        workflow_id=execution.id,
        run_id=execution.run_id,
    )


def with_description(info: JobInfo, description: WorkflowExecutionDescription) -> JobInfo:
    """The row with what only the run's description knows: queued, running or retrying."""
    attempt = running_attempt(description)
    attempts = info.attempts
    if attempt is not None:
        started = attempt.HasField("last_started_time") and attempt.last_started_time.seconds > 0
        attempts = attempt.attempt if started else attempt.attempt - 1
    return info.model_copy(
        update={"status": state_from_description(description), "attempts": attempts}
    )


def memo_failure(memo: Mapping[str, Any]) -> JobFailure | None:
    """The failure a parked job keeps in its memo."""
    raw = memo.get("failure")
    return JobFailure.model_validate(raw) if raw else None
