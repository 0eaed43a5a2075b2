"""Describe why an activity failed, for the dead-letter queue, batches and callbacks."""

from __future__ import annotations

from datetime import datetime

from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

from jobmodule.activities import JobFailure, JobPolicy
from jobmodule.activities.runner import attempt_from_details


def failure_from(
    error: ActivityError, *, policy: JobPolicy, job_id: str, now: datetime
) -> JobFailure:
    """Describe the root cause of a failed activity: its type, message and attempt count."""
    cause: BaseException = error.cause or error
    attempts = policy.tries
    if isinstance(cause, ApplicationError):
        kind = cause.type or "ApplicationError"
        attempts = attempt_from_details(cause.details) or attempts
    elif isinstance(cause, ActivityTimeoutError):
        kind = f"Timeout.{cause.type.name}" if cause.type is not None else "Timeout"
    else:
        kind = type(cause).__name__
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    return JobFailure(
        type=kind, message=message or kind, attempts=attempts, failed_at=now, job_id=job_id
    )
