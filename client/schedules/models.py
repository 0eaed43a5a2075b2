"""Options, read models and errors of :mod:`jobmodule.schedules.scheduler`.

Kept apart so the scheduler module holds only the Temporal calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from temporalio.client import ScheduleOverlapPolicy

from jobmodule.activities import JobModuleError
from jobmodule.activities import priority as priority_names
from jobmodule.jobs.dispatch import PendingDispatch

OverlapName = Literal[
    "skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"
]

OVERLAP_POLICIES: dict[str, ScheduleOverlapPolicy] = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,
    "cancel_other": ScheduleOverlapPolicy.CANCEL_OTHER,
    "terminate_other": ScheduleOverlapPolicy.TERMINATE_OTHER,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
"""What happens when a run is due while the previous one is still open (``overlap=``).

* ``skip`` (default): do not start it.
* ``buffer_one``: start it when the open run closes; later ones in the meantime are dropped.
* ``buffer_all``: start every one of them, one after another.
* ``cancel_other``: cancel the open run, start this one once it has closed.
* ``terminate_other``: terminate the open run and start this one now.
* ``allow_all``: start it alongside.

A run stays open until its job settles *and closes*: a dead-lettered run stays open, parked,
until it is retried, forgotten or expires, so under ``skip`` it holds back later runs.
"""

PRIORITY_NAMES = priority_names.PRIORITY_NAMES
"""Names accepted for the ``priority`` option, as Temporal priority keys (1 highest, 5 lowest);
the same as a job's (``high``, ``normal`` or ``default``, ``low``)."""

MEMO_KEY = "jobmodule_schedule"
"""Memo key holding a :class:`ScheduleMeta`: on the schedule and on every run it starts."""


class ScheduleNotFoundError(JobModuleError, LookupError):
    """No schedule with that id exists (or it exists but JobScheduler did not create it)."""

    def __init__(self, schedule_id: str, detail: str | None = None) -> None:
        self.schedule_id = schedule_id
        detail = detail or f"No schedule with id {schedule_id!r}"
        super().__init__(f"{detail}. `jobmodule schedule list` lists the job schedules.")


class ScheduleOptions(BaseModel):
    """Job options of a schedule, with the dispatch builder's names; None keeps the class's.

    ``priority`` is 1 (highest) to 5 (lowest), or a name: ``"high"`` = 1, ``"default"`` or
    ``"normal"`` = 3, ``"low"`` = 5. Ranges are checked by
    :class:`jobmodule.activities.JobPolicy`, as for a dispatch.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str | None = None
    priority: int | None = None
    timeout: float | None = None
    tries: int | None = None
    backoff: float | list[float] | Literal["exponential"] | None = None

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_names(cls, value: object) -> object:
        return priority_names.priority_key(value)

    def apply(self, pending: PendingDispatch) -> PendingDispatch:
        """Set these options on a dispatch builder (which validates them in ``build_input``)."""
        if self.queue is not None:
            pending.on_queue(self.queue)
        if self.priority is not None:
            pending.priority(self.priority)
        if self.timeout is not None:
            pending.timeout(self.timeout)
        if self.tries is not None:
            pending.tries(self.tries)
        if self.backoff is not None:
            pending.backoff(self.backoff)
        return pending

    def given(self) -> dict[str, Any]:
        """The options that were set, JSON-safe."""
        return self.model_dump(mode="json", exclude_none=True)


class ScheduleMeta(BaseModel):
    """What a schedule was asked for, stored in memos so it can be shown as it was written.

    Temporal cannot change a schedule's own memo once created ("memo updates are not supported
    on workflow-backed schedules"), so that copy records the schedule as created and marks it as
    a job schedule; the copy in the action's memo is replaced on every update and wins.
    """

    job: str
    cron: str
    timezone: str = "UTC"
    options: dict[str, Any] = {}


class ScheduleRun(BaseModel):
    """One run a schedule started: a job, with its own id (workflow id)."""

    time: datetime
    """When the run was due (the cron time, or the time of a trigger or backfilled time)."""
    started_at: datetime
    """When the schedule actually started it."""
    job_id: str
    """The run's job id: the schedule id plus the due time, e.g. ``ID-2025-01-06T02:00:00Z``."""
    outcome: str
    """The job's status (``JobHandle.status()``): queued, running, succeeded, ..., or unknown."""


class JobSchedule(BaseModel):
    """A job schedule as the server describes it now."""

    id: str
    job: str
    """The job's registered name, e.g. ``app.jobs.DailyReport``."""
    cron: str
    """The cron expression as given (a macro stays a macro)."""
    timezone: str
    """IANA zone whose wall clock the expression reads."""
    description: str
    """The expression in words, e.g. "At 02:00, only on Monday"."""
    payload: dict[str, Any]
    """The payload every run gets."""
    options: dict[str, Any]
    """Job options given to the schedule (priority as its number); the class supplies the rest."""
    overlap: str
    """Overlap policy name (see ``OVERLAP_POLICIES``)."""
    paused: bool
    note: str | None
    """The note of the last pause or resume, or of the schedule's creation."""
    next_run_times: list[datetime]
    """The next (up to) five times the spec matches, in ``timezone``; a paused schedule skips
    them."""
    recent_runs: list[ScheduleRun]
    """Up to ten latest runs, newest first."""
    created_at: datetime

    @property
    def last_outcome(self) -> str | None:
        """The outcome of the newest run, or None if it never ran."""
        return self.recent_runs[0].outcome if self.recent_runs else None


class ScheduleSummary(BaseModel):
    """A job schedule as the schedule list shows it (``JobScheduler.summaries()``): what an
    overview needs, read without describing each schedule."""

    id: str
    job: str
    cron: str
    """The cron expression as given, or as last changed by ``update()``."""
    timezone: str
    description: str
    """The expression in words."""
    paused: bool
    note: str | None
    next_run_times: list[datetime]
    last_run: ScheduleRun | None
    """The newest run, with its outcome; None if it never ran."""

    @property
    def last_outcome(self) -> str | None:
        """The outcome of the newest run, or None if it never ran."""
        return self.last_run.outcome if self.last_run else None
