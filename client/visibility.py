"""Visibility queries: the one place their values are quoted and their clauses joined."""

from __future__ import annotations

from datetime import datetime

from jobmodule.workflows import search_attributes as sa
from jobmodule.workflows.states import JobState


def quote(value: str) -> str:
    """Quote a value for a visibility query."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def equals(field: str, value: str) -> str:
    """``field = "value"``, with the value quoted."""
    return f"{field} = {quote(value)}"


def job_filters(*, queue: str | None = None, job: str | None = None) -> list[str]:
    """The clauses of the optional ``queue=`` and ``job=`` filters every listing takes."""
    clauses = []
    if queue:
        clauses.append(equals(sa.JOB_QUEUE.name, queue))
    if job:
        clauses.append(equals(sa.JOB_CLASS.name, job))
    return clauses


JOB_WORKFLOWS = 'WorkflowType = "JobWorkflow"'
OPEN = 'ExecutionStatus = "Running"'
_NOT_PARKED = f"{sa.JOB_STATUS.name} != {quote(JobState.DEAD_LETTERED.value)}"
STATUS_CLAUSES: dict[JobState, tuple[str, ...]] = {
    JobState.QUEUED: (OPEN, _NOT_PARKED),
    JobState.RUNNING: (OPEN, _NOT_PARKED),
    JobState.RETRYING: (OPEN, _NOT_PARKED),
    JobState.DEAD_LETTERED: (OPEN, equals(sa.JOB_STATUS.name, JobState.DEAD_LETTERED.value)),
    JobState.SUCCEEDED: (
        'ExecutionStatus = "Completed"',
        equals(sa.JOB_STATUS.name, JobState.SUCCEEDED.value),
    ),
    JobState.FORGOTTEN: (
        'ExecutionStatus = "Completed"',
        equals(sa.JOB_STATUS.name, JobState.FORGOTTEN.value),
    ),
    JobState.EXPIRED: ('ExecutionStatus = "Failed"',),
    JobState.CANCELLED: ('ExecutionStatus = "Canceled"',),
    JobState.TERMINATED: ('ExecutionStatus IN ("Terminated", "TimedOut")',),
}
"""What visibility can tell of each state. Queued, running and retrying all read as an open,
unparked run there: telling them apart takes the run's description (its pending activity)."""


def job_query(
    *,
    queue: str | None = None,
    job: str | None = None,
    status: JobState | None = None,
    batch_id: str | None = None,
    since: datetime | None = None,
) -> str:
    """Jobs that have a ``JobWorkflow`` of their own, with the search's filters."""
    clauses = [JOB_WORKFLOWS, *job_filters(queue=queue, job=job)]
    if status is not None:
        clauses.extend(STATUS_CLAUSES[status])
    if batch_id:
        clauses.append(equals(sa.BATCH_ID.name, batch_id))
    if since is not None:
        clauses.append(f"StartTime >= {quote(since.isoformat())}")
    return all_of(*clauses)


def chunk_query(batch_id: str) -> str:
    """The chunk workflows of a batch (they inherit its ``BatchId``)."""
    return all_of('WorkflowType = "BatchChunkWorkflow"', equals(sa.BATCH_ID.name, batch_id))


def all_of(*clauses: str) -> str:
    """The clauses joined with AND."""
    return " AND ".join(clauses)


def dead_letter_query(
    *,
    queue: str | None = None,
    job: str | None = None,
    batch_id: str | None = None,
    group: str | None = None,
    failed_before: datetime | None = None,
    failed_since: datetime | None = None,
) -> str:
    """The parked jobs (the dead-letter queue), with any of its filters."""
    clauses = [
        JOB_WORKFLOWS,
        OPEN,
        equals(sa.JOB_STATUS.name, JobState.DEAD_LETTERED.value),
        *job_filters(queue=queue, job=job),
    ]
    if batch_id:
        clauses.append(equals(sa.BATCH_ID.name, batch_id))
    if group:
        clauses.append(equals(sa.FAILURE_GROUP.name, group))
    if failed_before is not None:
        clauses.append(f"{sa.FAILED_AT.name} < {quote(failed_before.isoformat())}")
    if failed_since is not None:
        clauses.append(f"{sa.FAILED_AT.name} >= {quote(failed_since.isoformat())}")
    return all_of(*clauses)
