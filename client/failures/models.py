"""The dead-letter queue's read models: ``FailedJob`` (a row) and ``FailureGroup`` (a cause)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowExecution

from jobmodule.activities.root_cause import failure_group, message_pattern
from jobmodule.workflows import BATCH_ID, FAILURE_GROUP, JOB_CLASS, JOB_QUEUE


class FailedJob(BaseModel):
    """One dead-lettered job (a row of Laravel's ``failed_jobs``)."""

    id: str
    """The job id (its workflow id)."""
    job: str
    """The job's name, e.g. ``app.jobs.ProcessUserData``."""
    queue: str
    payload: dict[str, Any] | None
    """The payload, or None when it was too large to copy into the memo."""
    exception: str
    """``Type: message`` of the last error."""
    exception_type: str
    exception_message: str
    attempts: int
    failed_at: datetime
    batch_id: str | None = None
    """The batch the job belongs to (a batch job or callback), if any."""
    traceback: str | None = None
    """The stack of its last attempt, trimmed to a few KB."""
    frame: str | None = None
    """The innermost frame in the job's own code, ``file:line in function``."""
    group: str = ""
    """Its root-cause group (``FailureHandler.groups()``)."""


class FailureGroup(BaseModel):
    """Failures that share a cause: the job, the exception type, the frame and the message
    once its variable parts are blanked out."""

    id: str
    """Stable: the same failures fall in the same group on every host and every day."""
    job: str
    exception_type: str
    pattern: str
    """The message with numbers, ids, quoted strings, emails, URLs and paths blanked out."""
    frame: str | None
    count: int
    first_failed_at: datetime
    last_failed_at: datetime
    sample_message: str
    sample_job_ids: list[str]
    """Up to five of its jobs, newest first."""


SAMPLE_IDS = 5


async def failed_job_from(execution: WorkflowExecution) -> FailedJob:
    """Build the read model from one visibility row (search attributes + memo)."""
    memo = await execution.memo()
    failure = memo.get("failure") or {}
    attributes = execution.typed_search_attributes
    kind = str(failure.get("type", "Unknown"))
    message = str(failure.get("message", ""))
    failed_at = failure.get("failed_at") or execution.start_time
    job = attributes.get(JOB_CLASS) or ""
    frame = failure.get("frame")
    return FailedJob(
        id=execution.id,
        job=job,
        queue=attributes.get(JOB_QUEUE) or execution.task_queue,
        payload=memo.get("payload"),
        exception=f"{kind}: {message}",
        exception_type=kind,
        exception_message=message,
        attempts=int(failure.get("attempts", 0)),
        failed_at=failed_at,
        batch_id=attributes.get(BATCH_ID),
        traceback=failure.get("traceback"),
        frame=frame,
        group=attributes.get(FAILURE_GROUP) or failure_group(job, kind, message, frame),
    )


def groups_of(rows: list[FailedJob]) -> list[FailureGroup]:
    """The rows folded into their groups, largest first (then the most recent)."""
    by_id: dict[str, list[FailedJob]] = {}
    for row in rows:
        by_id.setdefault(row.group, []).append(row)
    found = []
    for group_id, members in by_id.items():
        members.sort(key=lambda row: row.failed_at, reverse=True)
        newest = members[0]
        found.append(
            FailureGroup(
                id=group_id,
                job=newest.job,
                exception_type=newest.exception_type,
                pattern=message_pattern(newest.exception_message),
                frame=newest.frame,
                count=len(members),
                first_failed_at=members[-1].failed_at,
                last_failed_at=newest.failed_at,
                sample_message=newest.exception_message,
                sample_job_ids=[row.id for row in members[:SAMPLE_IDS]],
            )
        )
    found.sort(key=lambda group: (group.count, group.last_failed_at), reverse=True)
    return found
