"""``run_job_group``: many small jobs in one activity task, each with its own policy.

A workflow per job costs ~15 history events and a round trip through the server for each step;
a batch of no-op jobs is then bound by the engine, not the work. Here one activity runs the
first attempt of up to a few hundred jobs and reports each outcome; the chunk workflow retries
the failures one by one with each job's own tries and backoff. Completed indices and checkpoints
ride in the heartbeat, so when a group attempt dies its finished jobs stay finished: the chunk
reads them from the timeout's last heartbeat details, or from the details of the
``GroupInterrupted`` error a group raises when its worker shuts down under it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from jobmodule.activities import errors
from jobmodule.activities.attempt import run_attempt
from jobmodule.activities.batch_models import (
    GroupedJob,
    JobAttemptOutcome,
    JobGroupInput,
    JobGroupResult,
)
from jobmodule.activities.context import JobContext, current_job_context
from jobmodule.activities.failure import JobFailure
from jobmodule.activities.health import process_health
from jobmodule.activities.ids import batch_job_id
from jobmodule.activities.observe import watch_grouped
from jobmodule.activities.runner import instantiate, to_application_error, trace_from_details

HEARTBEAT_EVERY_SECONDS = 1.0
"""How often a group reports liveness (its heartbeat timeout is 10 s) and hears of a cancel."""


class GroupProgress:
    """What a group has finished so far; it is the heartbeat's details."""

    def __init__(self, details: Any) -> None:
        saved = details if isinstance(details, dict) else {}
        self.outcomes: dict[int, JobAttemptOutcome] = {
            int(index): JobAttemptOutcome.model_validate(outcome)
            for index, outcome in saved.get("outcomes", {}).items()
        }
        self.checkpoints: dict[int, Any] = {
            int(index): value for index, value in saved.get("checkpoints", {}).items()
        }
        self.stuck: dict[int, str] = {}
        """Jobs whose sync handler passed its timeout: held open until the process exits."""

    def details(self) -> dict[str, Any]:
        details = {
            "outcomes": {str(i): o.model_dump(mode="json") for i, o in self.outcomes.items()},
            "checkpoints": {str(i): value for i, value in self.checkpoints.items()},
        }
        if self.stuck:
            details["stuck"] = {str(i): reason for i, reason in self.stuck.items()}
        return details

    def beat(self) -> None:
        activity.heartbeat(self.details())


def outcome_of_error(
    index: int, error: ApplicationError, job_id: str, attempt: int
) -> JobAttemptOutcome:
    """Turn the error of a first attempt into a reportable outcome."""
    delay = error.next_retry_delay.total_seconds() if error.next_retry_delay else None
    stack, frame = trace_from_details(error.details)
    failure = JobFailure(
        type=error.type or "ApplicationError",
        message=error.message,
        attempts=attempt,
        failed_at=datetime.now(UTC),
        job_id=job_id,
        traceback=stack,
        frame=frame,
    )
    retryable = not error.non_retryable and (error.type not in errors.NON_RETRYABLE_ERROR_TYPES)
    return JobAttemptOutcome(
        index=index, ok=False, failure=failure, retryable=retryable, retry_delay=delay
    )


async def run_one(grouped: GroupedJob, group: JobGroupInput, progress: GroupProgress) -> None:
    """Run the first attempt of one job of the group and record its outcome."""
    spec = grouped.spec
    job_id = grouped.job_id or batch_job_id(group.chunk_id, grouped.index)
    try:
        job = instantiate(spec.job, spec.payload)
    except ApplicationError as error:
        progress.outcomes[grouped.index] = outcome_of_error(grouped.index, error, job_id, 1)
        return

    def send_heartbeat(checkpoint: Any) -> None:
        progress.checkpoints[grouped.index] = checkpoint
        progress.beat()

    context = JobContext(
        job_id=job_id,
        attempt=1,
        checkpoint=progress.checkpoints.get(grouped.index),
        batch_id=group.batch.id,
        loop=asyncio.get_running_loop(),
        batch=group.batch,
        send_heartbeat=send_heartbeat,
    )

    def stuck() -> None:
        progress.stuck[grouped.index] = f"exceeded its timeout of {spec.policy.timeout:g}s"
        progress.beat()

    token = current_job_context.set(context)
    try:
        attempt = run_attempt(job.handle, limit=spec.policy.timeout, job=spec.job, on_stuck=stuck)
        await watch_grouped(attempt, spec, job_id, group.batch.id)
        outcome = JobAttemptOutcome(index=grouped.index, ok=True)
    except Exception as error:
        converted = to_application_error(error, spec.policy, 1)
        outcome = outcome_of_error(grouped.index, converted, job_id, 1)
    finally:
        current_job_context.reset(token)
    progress.outcomes[grouped.index] = outcome


@activity.defn(name="run_job_group")
async def run_job_group(input: JobGroupInput) -> JobGroupResult:
    """Run the first attempt of every job in the group, at most ``concurrency`` at once."""
    details = activity.info().heartbeat_details
    progress = GroupProgress(details[0] if details else None)
    semaphore = asyncio.Semaphore(input.concurrency)
    stopped = False

    async def limited(grouped: GroupedJob) -> None:
        nonlocal stopped
        async with semaphore:
            if stopped or process_health.tainted:
                # A job of the batch failed for good, or this process can no longer be
                # trusted: the rest never start here (the chunk runs them elsewhere).
                return
            await run_one(grouped, input, progress)
            outcome = progress.outcomes[grouped.index]
            fails_for_good = not outcome.ok and (
                not outcome.retryable or grouped.spec.policy.tries <= 1
            )
            if fails_for_good and input.stop_on_failure:
                stopped = True

    async def keep_alive() -> None:
        while True:
            progress.beat()
            await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)

    pulse = asyncio.create_task(keep_alive())
    try:
        await asyncio.gather(
            *(limited(job) for job in input.jobs if job.index not in progress.outcomes)
        )
    except asyncio.CancelledError:
        if not activity.is_worker_shutdown():
            raise  # the batch was cancelled: the chunk stops
        # The worker is shutting down under us: say which jobs finished, so the chunk keeps
        # them and runs only the others again, elsewhere.
        raise ApplicationError(
            "the worker shut down before the group finished",
            progress.details(),
            type=errors.GROUP_INTERRUPTED,
        ) from None
    finally:
        pulse.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pulse
    return JobGroupResult(outcomes=list(progress.outcomes.values()))
