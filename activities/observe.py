"""Where a job's attempts are seen, so monitoring can count and time them where they run.

A group activity (``run_job_group``) runs up to a few hundred jobs in one task, so timing cannot
be taken per activity task: each job's attempt is reported here, to a ``JobObserver`` the worker
registers (an activity interceptor sets ``current_scope`` for every activity it runs). This layer
imports nothing above it; without an observer, ``watch_*`` only await their work.

Wait time runs from the moment the job could have started to the start of its attempt: the
dispatch or the end of its start delay (``RunJobInput.ready_at``, set by ``JobWorkflow``), the
end of a retry's backoff (``current_attempt_scheduled_time``), or the moment a group was handed
to the queue (a group's jobs wait for each other's slots too, and that wait is real).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from jobmodule.activities import errors
from jobmodule.activities.batch_models import JobSpec
from jobmodule.activities.models import RunJobInput
from jobmodule.activities.runner import to_application_error

T = TypeVar("T")

AttemptOutcome = Literal["succeeded", "failed", "released", "cancelled"]
JobKind = Literal["job", "batch", "chain", "callback"]
"""What runs the job: its own ``JobWorkflow``, a batch chunk, a chain, or a batch's callback."""

KIND_OF_WORKFLOW: dict[str, JobKind] = {
    "JobWorkflow": "job",
    "BatchChunkWorkflow": "batch",
    "ChainWorkflow": "chain",
    "BatchWorkflow": "callback",
}

TIMEOUT = "Timeout"
"""Error type of a grouped job that overran its timeout (as ``run_job_group`` reports it)."""


@dataclass
class Attempt:
    """One attempt of one job, as the worker saw it; the outcome fields are set when it ends."""

    job: str
    job_id: str
    queue: str
    kind: JobKind
    number: int
    """The job's attempt number, from 1 (a batch job's retries count its grouped first try)."""
    ready_at: datetime
    """When the job could have started this attempt (server clock)."""
    started_at: datetime
    """When it started (server clock: the task's start plus the time spent here since)."""
    last_try: bool
    """No try is left if this one fails."""
    outcome: AttemptOutcome | None = None
    final: bool = False
    """The attempt settled the job: it succeeded, or failed with no retry to come."""
    retry_in: float | None = None
    """Seconds before the next attempt may start, when one follows."""
    error_type: str | None = None

    @property
    def wait_seconds(self) -> float:
        """From the moment the job could have started to the start of this attempt."""
        return max(0.0, (self.started_at - self.ready_at).total_seconds())

    def succeeded(self) -> None:
        self.outcome = "succeeded"
        self.final = True

    def failed(self, error: ApplicationError, backoff: Callable[[], float]) -> None:
        """Record a failure; ``backoff`` gives the policy's delay when the error names none."""
        retryable = not error.non_retryable and error.type not in errors.NON_RETRYABLE_ERROR_TYPES
        self.error_type = error.type
        self.outcome = "released" if error.type == errors.JOB_RELEASED else "failed"
        self.final = not retryable or self.last_try
        if not self.final:
            delay = error.next_retry_delay
            self.retry_in = delay.total_seconds() if delay is not None else backoff()

    def cancelled(self) -> None:
        self.outcome = "cancelled"


class JobObserver(Protocol):
    """What the worker registers to see attempts (``jobmodule.worker`` implements it)."""

    def attempt(self, attempt: Attempt) -> AbstractContextManager[object]:
        """Entered as the attempt starts and left when it ends, its outcome set."""
        ...

    def dead_lettered(self, job: str, queue: str) -> None:
        """A job failed for good and its ``failed()`` hook runs (once per trip to the DLQ)."""
        ...


@dataclass(frozen=True)
class ActivityScope:
    """The observer of the activity running in this context, and when it began here."""

    observer: JobObserver
    info: activity.Info
    began: float
    """``time.monotonic()`` when the activity began on this worker."""

    def now(self) -> datetime:
        """The time on the server's clock: the task's start plus what passed here since."""
        return self.info.started_time + timedelta(seconds=time.monotonic() - self.began)


current_scope: contextvars.ContextVar[ActivityScope | None] = contextvars.ContextVar(
    "jobmodule_activity_scope", default=None
)


async def _watch(
    work: Awaitable[T],
    scope: ActivityScope,
    attempt: Attempt,
    policy_error: Callable[[BaseException], ApplicationError],
    backoff: Callable[[], float],
) -> T:
    """Await ``work`` inside the observer's view of ``attempt``, setting how it ended."""
    with scope.observer.attempt(attempt):
        try:
            result = await work
        except ApplicationError as error:
            attempt.failed(error, backoff)
            raise
        except Exception as error:
            attempt.failed(policy_error(error), backoff)
            raise
        except BaseException:  # cancelled: the worker stops, the batch was cancelled, a timeout
            attempt.cancelled()
            raise
        attempt.succeeded()
        return result


async def watch_run_job(work: Awaitable[T], input: RunJobInput) -> T:
    """Await one ``run_job`` attempt, reporting it to the observer of this activity, if any."""
    scope = current_scope.get()
    if scope is None:
        return await work
    info = scope.info
    ready = info.current_attempt_scheduled_time
    if info.attempt == 1 and input.ready_at is not None:
        ready = input.ready_at
    number = input.attempt_offset + info.attempt
    attempt = Attempt(
        job=input.job,
        job_id=input.job_id,
        queue=info.task_queue,
        kind=KIND_OF_WORKFLOW.get(info.workflow_type or "", "job"),
        number=number,
        ready_at=ready,
        started_at=scope.now(),
        last_try=info.attempt >= input.policy.tries,
    )
    return await _watch(
        work,
        scope,
        attempt,
        lambda error: to_application_error(error, input.policy, number),
        lambda: input.policy.delay_before_retry(number),
    )


async def watch_grouped(work: Awaitable[T], spec: JobSpec, job_id: str, batch_id: str) -> T:
    """Await the first attempt of one job of a group, reporting it as ``watch_run_job`` does."""
    scope = current_scope.get()
    if scope is None:
        return await work
    info = scope.info
    attempt = Attempt(
        job=spec.job,
        job_id=job_id,
        queue=info.task_queue,
        kind="batch",
        number=1,
        ready_at=info.scheduled_time,
        started_at=scope.now(),
        last_try=spec.policy.tries <= 1,
    )

    def policy_error(error: BaseException) -> ApplicationError:
        if isinstance(error, TimeoutError):
            return ApplicationError(f"attempt exceeded {spec.policy.timeout:g}s", type=TIMEOUT)
        return to_application_error(error, spec.policy, 1)

    return await _watch(
        work, scope, attempt, policy_error, lambda: spec.policy.delay_before_retry(1)
    )
