"""``JobInfo`` and ``JobPage``: a job as the search and the dashboard show it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
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


@dataclass(frozen=True)
class JobSearch:
    """The filters of one search, for rows that visibility could not filter itself."""

    queue: str | None = None
    job: str | None = None
    status: JobState | None = None
    since: datetime | None = None

    def keeps(self, row: JobInfo) -> bool:
        """Whether ``row`` passes every filter."""
        if self.queue and row.queue != self.queue:
            return False
        if self.job and row.job != self.job:
            return False
        if self.status is not None and row.status != self.status:
            return False
        return not (self.since and row.dispatched_at and row.dispatched_at < self.since)


def encode_token(kind: str, position: bytes) -> str:
    """A page token: its kind (``v`` visibility, ``b`` batch) and where the next page starts."""
    return kind + base64.urlsafe_b64encode(position).decode()


def decode_token(token: str, kind: str) -> bytes:
    """Where a page token resumes; ValueError if it is not a token of this kind of search."""
    if not token.startswith(kind):
        raise ValueError(f"page token {token!r} is not from this search; start without it")
    try:
        return base64.urlsafe_b64decode(token[1:].encode())
    except ValueError:
        raise ValueError(f"page token {token!r} is damaged; start without it") from None
