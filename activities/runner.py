"""The ``run_job`` activity: resolve a job by name, validate its payload, call ``handle()``.

Errors leave as ``ApplicationError`` with a stable ``type``. Retryable ones carry
``next_retry_delay`` from the job's backoff, which is how a progressive Laravel backoff list
(``[1, 5, 10]``) is applied on top of Temporal's RetryPolicy.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from jobmodule.activities import errors
from jobmodule.activities.attempt import AttemptTimedOut, run_attempt
from jobmodule.activities.context import JobContext, current_job_context
from jobmodule.activities.job import Job, registry
from jobmodule.activities.models import FailedHookInput, RunJobInput
from jobmodule.activities.policy import JobPolicy
from jobmodule.activities.root_cause import formatted_traceback, innermost_own_frame

ATTEMPT_DETAIL = "jobmodule_attempt"
TRACEBACK_DETAIL = "jobmodule_traceback"
FRAME_DETAIL = "jobmodule_frame"
STUCK_DETAIL = "jobmodule_stuck"
"""Heartbeat detail of an attempt held open because its sync handler could not be stopped."""
PULSE_AFTER_SECONDS = 1.0
"""An attempt still running after this starts heartbeating: shorter ones cost no extra call."""
PULSE_EVERY_SECONDS = 2.0
"""How often a running attempt says it is alive (the liveness timeout is several times this)."""


def attempt_from_details(details: Sequence[Any]) -> int | None:
    """The attempt number ``to_application_error`` stored in an error's details, if any."""
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get(ATTEMPT_DETAIL), int):
            return int(detail[ATTEMPT_DETAIL])
    return None


def trace_from_details(details: Sequence[Any]) -> tuple[str | None, str | None]:
    """The traceback and own frame ``to_application_error`` stored in an error's details."""
    for detail in details:
        if isinstance(detail, dict) and ATTEMPT_DETAIL in detail:
            return detail.get(TRACEBACK_DETAIL), detail.get(FRAME_DETAIL)
    return None, None


def instantiate(name: str, payload: dict[str, Any], attempt: int = 1) -> Job:
    """Build the job from its name and payload, as a non-retryable error when that cannot work."""
    marker = {ATTEMPT_DETAIL: attempt}
    try:
        job_class = registry.resolve(name)
    except errors.UnknownJobError as error:
        raise ApplicationError(
            str(error), marker, type=errors.UNKNOWN_JOB, non_retryable=True
        ) from None
    try:
        return job_class.model_validate(payload)
    except ValidationError as error:
        message = f"Payload of {name} no longer validates: {error}"
        raise ApplicationError(
            message, marker, type=errors.INVALID_PAYLOAD, non_retryable=True
        ) from None


async def call_maybe_async(function: Any, *args: Any) -> Any:
    """Await an async hook; run a sync one in a thread so it cannot block the worker's loop."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    result = await asyncio.to_thread(function, *args)
    if inspect.isawaitable(result):
        return await result
    return result


def to_application_error(error: BaseException, policy: JobPolicy, attempt: int) -> ApplicationError:
    """Map what ``handle()`` raised to the error Temporal sees, with the job's own backoff.

    The attempt number rides in the details, so the dead-letter entry can say how many ran,
    and so do the stack and the job's own frame that failed, for root-cause groups.
    """
    marker: dict[str, Any] = {ATTEMPT_DETAIL: attempt}
    if not isinstance(error, errors.JobReleasedError | AttemptTimedOut):
        marker[TRACEBACK_DETAIL] = formatted_traceback(error)
        marker[FRAME_DETAIL] = innermost_own_frame(error)
    if isinstance(error, ApplicationError):
        return ApplicationError(
            error.message,
            *error.details,
            marker,
            type=error.type,
            non_retryable=error.non_retryable,
            next_retry_delay=error.next_retry_delay,
        )
    if isinstance(error, errors.JobFailedError):
        return ApplicationError(str(error), marker, type=errors.JOB_FAILED, non_retryable=True)
    if isinstance(error, AttemptTimedOut):
        delay = None
        if policy.backoff != "exponential":
            delay = timedelta(seconds=policy.delay_before_retry(attempt))
        return ApplicationError(str(error), marker, type=errors.TIMEOUT, next_retry_delay=delay)
    if isinstance(error, errors.JobReleasedError):
        delay = timedelta(seconds=error.delay) if error.delay > 0 else None
        return ApplicationError(
            str(error), marker, type=errors.JOB_RELEASED, next_retry_delay=delay
        )
    next_delay = None
    if policy.backoff != "exponential":
        next_delay = timedelta(seconds=policy.delay_before_retry(attempt))
    message = str(error) or type(error).__name__
    return ApplicationError(message, marker, type=type(error).__name__, next_retry_delay=next_delay)


@activity.defn(name="run_job")
async def run_job(input: RunJobInput) -> Any:
    """Run one attempt of a job and return what ``handle()`` returned."""
    info = activity.info()
    attempt = input.attempt_offset + info.attempt
    job = instantiate(input.job, input.payload, attempt)
    details = info.heartbeat_details
    context = JobContext(
        job_id=input.job_id,
        attempt=attempt,
        checkpoint=details[0] if details else None,
        batch_id=input.batch_id,
        loop=asyncio.get_running_loop(),
        batch=input.batch,
        batch_failure=input.batch_failure,
        # A local activity has no heartbeat: checkpoints stay in memory for this attempt.
        send_heartbeat=None if info.is_local else activity.heartbeat,
    )
    token = current_job_context.set(context)
    stuck: list[str] = []
    pulse = None if info.is_local else asyncio.create_task(_keep_alive(context, stuck))

    def held() -> None:
        stuck.append(f"exceeded its timeout of {input.policy.timeout:g}s")
        if pulse is not None:
            activity.heartbeat(context.checkpoint, {STUCK_DETAIL: stuck[0]})

    try:
        return await run_attempt(
            job.handle, limit=input.policy.timeout, job=input.job, on_stuck=held
        )
    except asyncio.CancelledError:
        raise
    except Exception as error:
        raise to_application_error(error, input.policy, attempt) from error
    finally:
        current_job_context.reset(token)
        if pulse is not None:
            pulse.cancel()


async def _keep_alive(context: JobContext, stuck: list[str]) -> None:
    """Heartbeat the attempt (with its last checkpoint) while it runs, so that a worker that
    dies is noticed within the liveness timeout instead of the job's whole timeout."""
    await asyncio.sleep(PULSE_AFTER_SECONDS)
    while True:
        marker = [{STUCK_DETAIL: stuck[0]}] if stuck else []
        activity.heartbeat(context.checkpoint, *marker)
        await asyncio.sleep(PULSE_EVERY_SECONDS)


def stuck_reason(details: Sequence[Any]) -> str | None:
    """Why an attempt was held open, from its last heartbeat details, if it was."""
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get(STUCK_DETAIL), str):
            return str(detail[STUCK_DETAIL])
    return None


@activity.defn(name="run_failed_hook")
async def run_failed_hook(input: FailedHookInput) -> None:
    """Call the job's ``failed()`` hook; the workflow runs this at most once per dead-lettering."""
    job = instantiate(input.job, input.payload)
    context = JobContext(
        job_id=input.job_id,
        attempt=input.failure.attempts,
        batch_id=input.batch_id,
        loop=asyncio.get_running_loop(),
    )
    token = current_job_context.set(context)
    try:
        await call_maybe_async(job.failed, input.failure)
    finally:
        current_job_context.reset(token)
