"""Attempts one at a time, for jobs that must re-check something before each retry.

Temporal retries an activity on the server with the priority it was first scheduled with, and
without asking anyone. Two kinds of job need more: one whose deadline is still beyond its
horizon (a later retry may have to run one level higher), and one under a limit (each attempt
takes its permits, and none is held during the backoff). For those the workflow schedules each
attempt as its own activity with one try, sleeps the job's backoff itself, and passes the
attempts already spent, so ``attempts()`` and the dead-letter entry count as usual. Once a
deadline is within its horizon and no limit applies, the remaining attempts go back to the
server's retries. Jobs with neither run exactly as before: no extra command, no extra event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import NON_RETRYABLE_ERROR_TYPES, JobPolicy, has_limits
    from jobmodule.activities.flow import boost_pending, effective_priority
    from jobmodule.workflows.permits import PermitHolder

AttemptRunner = Callable[[JobPolicy, int], Awaitable[Any]]
"""Runs the job under a policy whose ``tries`` are the attempts it may still make, with this
many attempts already spent (added to the activity's own attempt number)."""


def is_stepwise(policy: JobPolicy, now: Any) -> bool:
    """Whether the next attempt must be scheduled on its own (see the module docstring)."""
    return has_limits(policy) or (policy.tries > 1 and boost_pending(policy, now))


def retryable(error: ActivityError) -> bool:
    """Whether Temporal would have retried this failed attempt."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return not cause.non_retryable and cause.type not in NON_RETRYABLE_ERROR_TYPES
    if isinstance(cause, TimeoutError):
        return cause.type != TimeoutType.SCHEDULE_TO_CLOSE  # the deadline itself
    return True


def retry_delay(error: ActivityError, policy: JobPolicy, attempt: int) -> timedelta:
    """The backoff after ``attempt`` failed: what the job asked for, else its backoff list."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.next_retry_delay is not None:
        return cause.next_retry_delay
    return timedelta(seconds=policy.delay_before_retry(attempt))


async def run_stepwise(
    job: str,
    policy: JobPolicy,
    run: AttemptRunner,
    permits: PermitHolder,
    *,
    spent_before: int = 0,
) -> Any:
    """Run ``policy.tries`` attempts, each checked and permitted on its own; raise the last error.

    ``spent_before`` attempts ran elsewhere (a batch job's first try inside its group).
    """
    spent = 0
    while True:
        now = workflow.now()
        single = is_stepwise(policy, now)
        remaining = policy.model_copy(update={"tries": 1 if single else policy.tries - spent})
        try:
            async with permits.held(job, policy, effective_priority(policy, now)):
                return await run(remaining, spent)
        except ActivityError as error:
            spent += 1
            if not single or spent >= policy.tries or not retryable(error):
                raise
            delay = retry_delay(error, policy, spent_before + spent)
            if policy.deadline is not None and workflow.now() + delay >= policy.deadline:
                raise
            if delay > timedelta(0):
                await workflow.sleep(delay)
