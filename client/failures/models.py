"""``FailedJob``: one row of the dead-letter queue, read from a visibility row and its memo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowExecution

from jobmodule.workflows import JOB_CLASS, JOB_QUEUE


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


async def failed_job_from(execution: WorkflowExecution) -> FailedJob:
    """Build the read model from one visibility row (search attributes + memo)."""
    memo = await execution.memo()
    failure = memo.get("failure") or {}
    attributes = execution.typed_search_attributes
    kind = str(failure.get("type", "Unknown"))
    message = str(failure.get("message", ""))
    failed_at = failure.get("failed_at") or execution.start_time
    return FailedJob(
        id=execution.id,
        job=attributes.get(JOB_CLASS) or "",
        queue=attributes.get(JOB_QUEUE) or execution.task_queue,
        payload=memo.get("payload"),
        exception=f"{kind}: {message}",
        exception_type=kind,
        exception_message=message,
        attempts=int(failure.get("attempts", 0)),
        failed_at=failed_at,
    )
