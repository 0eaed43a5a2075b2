"""Retry, backoff and timeout policy: Laravel's ``$tries``/``$backoff``/``$timeout`` as plain data.

The policy is resolved once, at dispatch (dispatch override > class attribute > default), and
travels inside the workflow input, so a worker never has to guess what the dispatcher meant.
Its JSON form leaves out fields at their default, so the defaults below are part of the wire
format: changing one changes jobs already in flight (``tests/test_tuning.py`` pins them).
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from jobmodule.activities.limits import check_overlap_key, parse_rate
from jobmodule.activities.priority import check_fairness_key, priority_key

BackoffSpec = int | float | Sequence[float] | Literal["exponential"]
"""An int (constant delay), a list (progressive, the last value repeats) or "exponential"."""

EXPONENTIAL_INITIAL_SECONDS = 1.0
EXPONENTIAL_COEFFICIENT = 2.0
EXPONENTIAL_MAX_SECONDS = 600.0
DEFAULT_DEADLINE_HORIZON_SECONDS = 600.0
"""A job whose deadline is 10 minutes away or less goes before its level's other jobs."""


class JobPolicy(BaseModel):
    """How one dispatched job is run and retried."""

    model_config = ConfigDict(frozen=True)

    queue: str = "default"
    """Task queue: both the workflow and its activity run there."""
    tries: int = Field(default=1, ge=1)
    """Total attempts, including the first (Laravel's ``$tries``)."""
    backoff: list[float] | Literal["exponential"] = Field(default_factory=lambda: [0.0])
    """Seconds before each retry; the last value repeats. ``"exponential"`` doubles from 1 s."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds one attempt may run (start-to-close)."""
    heartbeat_timeout: float | None = Field(default=None, gt=0)
    """A heartbeat must arrive this often, so a dead worker is noticed quickly."""
    deadline: datetime | None = None
    """After this instant no attempt may run (schedule-to-close). Must be timezone-aware."""
    priority: int | None = Field(default=None, ge=1, le=5)
    """Temporal priority key: 1 is the highest, 5 the lowest, 3 the default. Names are accepted
    on the way in (``"high"`` = 1, ``"normal"``/``"default"`` = 3, ``"low"`` = 5)."""
    local: bool = False
    """Run as a local activity in the workflow's own task: no second task-queue round trip and
    about half the history events, for short jobs. Local jobs cannot heartbeat."""
    # -- flow control (issue 16); every default below is left out of the wire form --------------
    fairness_key: str | None = None
    """Fairness key (at most 64 bytes); None means the job class's name."""
    fairness_weight: float | None = Field(default=None, ge=0.001, le=1000)
    """Share of its level's throughput under a backlog, against other keys (server: 1.0)."""
    deadline_horizon: float = Field(default=DEFAULT_DEADLINE_HORIZON_SECONDS, gt=0)
    """Seconds before the deadline from which the job is raised one priority level."""
    rate_limit: str | None = None
    """At most N attempts start per second, minute or hour (``"20/s"``), across every worker."""
    max_concurrency: int | None = None
    """At most this many of the job class run at once, across every worker."""
    overlap_key: str | None = None
    """Jobs of this class with the same key never run at once, on any worker."""

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_names(cls, value: object) -> object:
        return priority_key(value)

    @field_validator("fairness_key")
    @classmethod
    def _fairness_key_fits(cls, value: str | None) -> str | None:
        return None if value is None else check_fairness_key(value)

    @field_validator("rate_limit")
    @classmethod
    def _rate_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @field_validator("max_concurrency", mode="before")
    @classmethod
    def _concurrency_positive(cls, value: object) -> object:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not (whole and value >= 1):  # type: ignore[operator]
            raise ValueError(
                f"max_concurrency must be a whole number >= 1 (None for no limit), not {value!r}"
            )
        return value

    @field_validator("overlap_key")
    @classmethod
    def _overlap_key_fits(cls, value: str | None) -> str | None:
        return None if value is None else check_overlap_key(value)

    @model_validator(mode="after")
    def _local_jobs_do_not_heartbeat(self) -> JobPolicy:
        if self.local and self.heartbeat_timeout is not None:
            raise ValueError("a local job cannot heartbeat: drop heartbeat_timeout or local")
        return self

    @field_validator("backoff", mode="before")
    @classmethod
    def _normalise_backoff(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("backoff must be seconds (int, float or list) or 'exponential'")
        if isinstance(value, int | float):
            return [float(value)]
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError("backoff list must not be empty")
            if any(isinstance(v, bool) or not isinstance(v, int | float) or v < 0 for v in value):
                raise ValueError("backoff list items must be non-negative seconds")
            return [float(v) for v in value]
        return value

    @field_validator("deadline")
    @classmethod
    def _aware_deadline(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("deadline must be timezone-aware, e.g. datetime.now(UTC) + ...")
        return value

    @model_serializer(mode="wrap")
    def _omit_defaults_in_json(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        """Every batch job carries its policy, nearly always the default one: written in full
        it took 129 of a no-op batch job's 197 bytes, and a batch's history holds each job twice."""
        data: dict[str, Any] = handler(self)
        if not info.mode_is_json():
            return data
        return {name: v for name, v in data.items() if getattr(self, name) != _DEFAULTS[name]}

    def delay_before_retry(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (1-based) failed."""
        if self.backoff == "exponential":
            delay = EXPONENTIAL_INITIAL_SECONDS * EXPONENTIAL_COEFFICIENT ** (failed_attempt - 1)
            return min(delay, EXPONENTIAL_MAX_SECONDS)
        index = min(failed_attempt, len(self.backoff)) - 1
        return self.backoff[max(index, 0)]


_DEFAULTS: dict[str, object] = dict(JobPolicy().__dict__)
"""Field values a policy's JSON leaves out."""

_shared_policies: weakref.WeakValueDictionary[Hashable, JobPolicy] = weakref.WeakValueDictionary()


def shared(policy: JobPolicy) -> JobPolicy:
    """One instance per distinct policy while any is alive (policies are frozen).

    A decoded batch chunk carries a policy per job, nearly always the same one: shared, 10,000
    decoded jobs take ~7 MiB instead of ~18 MiB (the workflow's copy and the activity's each).
    """
    key = tuple(tuple(v) if isinstance(v, list) else v for v in policy.__dict__.values())
    return _shared_policies.setdefault(key, policy)
