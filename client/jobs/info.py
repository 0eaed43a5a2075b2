"""``JobInfo`` and ``JobPage``: a job as the search and the dashboard show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jobmodule.activities import JobFailure
from jobmodule.workflows.states import JobState


class JobInfo(BaseModel):
    """One job, wherever it runs: a ``JobWorkflow`` of its own, or a place in a batch chunk."""

    id: str
    job: str
    """The job's registered name, e.g. ``app.jobs.ProcessUserData``."""
    queue: str
    status: JobState
    batch_id: str | None = None
    dispatched_at: datetime | None = None
    closed_at: datetime | None = None
    attempts: int = 0
    """Attempts made so far (0 while it waits, and in a list row when it is not yet known)."""
    payload: dict[str, Any] | None = None
    """Filled by ``JobService.find()``."""
    failure: JobFailure | None = None
    """The last error (``find()``; in a list row, for dead-lettered jobs)."""
    workflow_id: str | None = None
    """The Temporal workflow whose history holds this job: its own, or its batch chunk's."""
    run_id: str | None = None
    steps: int = 1
    """How many jobs the entry runs: more than 1 for a chain inside a batch."""


class JobPage(BaseModel):
    """One page of a job search; pass ``next_page_token`` back for the next one."""

    jobs: list[JobInfo] = Field(default_factory=list)
    next_page_token: str | None = None
