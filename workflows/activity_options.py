"""Compile a JobPolicy into the options of ``execute_activity``: retries, timeouts, priority."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.common import Priority, RetryPolicy

from jobmodule.activities import NON_RETRYABLE_ERROR_TYPES, JobPolicy
from jobmodule.activities.flow import effective_priority
from jobmodule.activities.policy import (
    EXPONENTIAL_COEFFICIENT,
    EXPONENTIAL_INITIAL_SECONDS,
    EXPONENTIAL_MAX_SECONDS,
)
from jobmodule.activities.priority import default_fairness_key

MIN_RETRY_INTERVAL = timedelta(milliseconds=100)
"""Temporal needs a positive interval; Laravel's ``backoff = 0`` means 'as soon as possible'."""

LIVENESS_TIMEOUT = timedelta(seconds=10)
"""A running job's worker heartbeats every 2 s; silence this long means it died or hung, and
the attempt is retried elsewhere (without it a kill -9 cost the job's whole timeout)."""
STOP_MARGIN = timedelta(minutes=5)
"""The worker itself stops an attempt at the job's timeout (an async one is cancelled, a sync
one taints its process, which drains and exits). The server's own start-to-close comes this
much later, so it never retries an attempt whose thread still runs in a draining worker."""


def retry_policy(policy: JobPolicy) -> RetryPolicy:
    """The RetryPolicy for a job: ``tries`` attempts, its backoff, our non-retryable types.

    A progressive list is applied per failure through ``next_retry_delay`` (see run_job); the
    policy here covers failures the activity cannot annotate, such as timeouts.
    """
    if policy.backoff == "exponential":
        initial = timedelta(seconds=EXPONENTIAL_INITIAL_SECONDS)
        coefficient = EXPONENTIAL_COEFFICIENT
        maximum = timedelta(seconds=EXPONENTIAL_MAX_SECONDS)
    else:
        initial = max(timedelta(seconds=policy.backoff[0]), MIN_RETRY_INTERVAL)
        coefficient = 1.0
        maximum = max(timedelta(seconds=max(policy.backoff)), initial)
    return RetryPolicy(
        initial_interval=initial,
        backoff_coefficient=coefficient,
        maximum_interval=maximum,
        maximum_attempts=policy.tries,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    )


def remaining_until_deadline(policy: JobPolicy, now: datetime) -> timedelta | None:
    """Time left before the job's deadline, or None when it has none."""
    if policy.deadline is None:
        return None
    return policy.deadline - now


def local_activity_options(policy: JobPolicy, now: datetime) -> dict[str, Any]:
    """Keyword arguments for ``workflow.execute_local_activity``: no queue, no heartbeat."""
    options = activity_options(policy, now)
    for remote_only in ("task_queue", "heartbeat_timeout", "priority"):
        options.pop(remote_only, None)
    return options


def task_priority(policy: JobPolicy, now: datetime | None, job: str | None = None) -> Priority:
    """The Priority of a job's task scheduled ``now``: its level (raised near its deadline;
    without ``now``, never), its fairness key (the job class's name unless it names one) and
    its weight."""
    key = policy.fairness_key or (default_fairness_key(job) if job else None)
    return Priority(
        priority_key=policy.priority if now is None else effective_priority(policy, now),
        fairness_key=key,
        fairness_weight=policy.fairness_weight,
    )


def activity_options(policy: JobPolicy, now: datetime, job: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``workflow.execute_activity`` that run a job under ``policy``.

    Without ``job`` the activity inherits its workflow's fairness key.
    """
    heartbeat = LIVENESS_TIMEOUT
    if policy.heartbeat_timeout is not None:
        heartbeat = timedelta(seconds=policy.heartbeat_timeout)
    options: dict[str, Any] = {
        "task_queue": policy.queue,
        "start_to_close_timeout": timedelta(seconds=policy.timeout) + STOP_MARGIN,
        "heartbeat_timeout": heartbeat,
        "retry_policy": retry_policy(policy),
    }
    remaining = remaining_until_deadline(policy, now)
    if remaining is not None:
        options["schedule_to_close_timeout"] = remaining
    priority = task_priority(policy, now, job)
    if priority != Priority.default:
        options["priority"] = priority
    return options
