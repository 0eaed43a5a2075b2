"""What a job's policy asks of flow control: its permits, and its priority at a given time.

Above ``policy``, ``limits`` and ``priority`` (which hold the plain rules and data), so that
both the workflows and the client read one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jobmodule.activities import ids
from jobmodule.activities.limits import LEASE_MARGIN_SECONDS, LimitConfig
from jobmodule.activities.policy import JobPolicy
from jobmodule.activities.priority import DEFAULT_PRIORITY, HIGHEST_PRIORITY


def has_limits(policy: JobPolicy) -> bool:
    """The job must take permits before each attempt."""
    return bool(policy.rate_limit or policy.max_concurrency or policy.overlap_key)


@dataclass(frozen=True)
class LimiterRef:
    """One limiter a job needs: its workflow id and what it enforces."""

    limiter_id: str
    config: LimitConfig


def limiters_for(job: str, policy: JobPolicy) -> list[LimiterRef]:
    """The limiters a job takes permits from, in the one order every job takes them.

    The lock first, then the class's rate and concurrency: a fixed order, so two jobs never
    each hold what the other waits for.
    """
    refs: list[LimiterRef] = []
    if policy.overlap_key:
        refs.append(
            LimiterRef(
                ids.overlap_lock_id(policy.queue, job, policy.overlap_key),
                LimitConfig(max_concurrency=1),
            )
        )
    if policy.rate_limit or policy.max_concurrency:
        config = LimitConfig(max_concurrency=policy.max_concurrency, rate=policy.rate_limit)
        refs.append(LimiterRef(ids.limiter_id(policy.queue, job), config))
    return refs


def lease_seconds(policy: JobPolicy) -> float:
    """How long a permit is held before the limiter checks that its holder still runs."""
    return policy.timeout + LEASE_MARGIN_SECONDS


def boost_pending(policy: JobPolicy, now: datetime) -> bool:
    """The job has a deadline that is not yet within its horizon: a later attempt may rise."""
    if policy.deadline is None:
        return False
    return policy.deadline - now > timedelta(seconds=policy.deadline_horizon)


def effective_priority(policy: JobPolicy, now: datetime) -> int | None:
    """The priority key a task scheduled ``now`` gets: one level up once the deadline is near.

    One level, not a jump to the top: a near deadline goes before its peers, not before work
    someone declared more urgent. Level 1 cannot rise further.
    """
    if policy.deadline is None or boost_pending(policy, now):
        return policy.priority
    level = policy.priority or DEFAULT_PRIORITY
    return max(HIGHEST_PRIORITY, level - 1)
