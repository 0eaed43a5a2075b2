"""Describe why an activity failed, for the dead-letter queue, batches and callbacks."""

from __future__ import annotations

from datetime import datetime

from temporalio.exceptions import ActivityError, ApplicationError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

from jobmodule.activities import JobFailure, JobPolicy
from jobmodule.activities.runner import attempt_from_details, stuck_reason, trace_from_details

WORKER_LOST = "WorkerLost"
"""The job's worker process died (or stopped answering) while running it."""


def failure_from(
    error: ActivityError, *, policy: JobPolicy, job_id: str, now: datetime
) -> JobFailure:
    """Describe the root cause of a failed activity: its type, message and attempt count."""
    cause: BaseException = error.cause or error
    attempts = policy.tries
    stack: str | None = None
    frame: str | None = None
    if isinstance(cause, ApplicationError):
        kind = cause.type or "ApplicationError"
        attempts = attempt_from_details(cause.details) or attempts
        stack, frame = trace_from_details(cause.details)
    elif isinstance(cause, ActivityTimeoutError):
        kind = f"Timeout.{cause.type.name}" if cause.type is not None else "Timeout"
        if cause.type == TimeoutType.HEARTBEAT:
            return _lost_worker(cause, policy=policy, job_id=job_id, now=now)
    else:
        kind = type(cause).__name__
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    return JobFailure(
        type=kind,
        message=message or kind,
        attempts=attempts,
        failed_at=now,
        job_id=job_id,
        traceback=stack,
        frame=frame,
    )


def _lost_worker(
    cause: ActivityTimeoutError, *, policy: JobPolicy, job_id: str, now: datetime
) -> JobFailure:
    """A heartbeat timeout: the attempt's process died, hung, or was replaced on purpose."""
    stuck = stuck_reason(cause.last_heartbeat_details)
    if stuck is not None:
        message = (
            f"the attempt {stuck}; a sync job cannot be stopped, so its worker process was replaced"
        )
        return JobFailure(
            type="Timeout", message=message, attempts=policy.tries, failed_at=now, job_id=job_id
        )
    message = "the worker process died (or stopped responding) while running the job"
    return JobFailure(
        type=WORKER_LOST, message=message, attempts=policy.tries, failed_at=now, job_id=job_id
    )
