"""Inputs of the activities: one model each, so fields can be added without breaking callers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from jobmodule.activities.batch_models import JobBatch
from jobmodule.activities.failure import JobFailure
from jobmodule.activities.policy import JobPolicy


class RunJobInput(BaseModel):
    """Everything a worker needs to run one attempt of a job."""

    job: str
    """The job's registered name (its import path)."""
    payload: dict[str, Any]
    job_id: str
    policy: JobPolicy
    batch_id: str | None = None
    attempt_offset: int = 0
    """Attempts already spent elsewhere (a batch job's first try ran inside a group)."""
    batch: JobBatch | None = None
    batch_failure: JobFailure | None = None
    ready_at: datetime | None = None
    """When the job could first have started (its dispatch, or the end of its start delay), for
    its wait time; None where the activity's own scheduled time says it (retries, batch jobs)."""


class FailedHookInput(BaseModel):
    """Run a job's ``failed()`` hook once, after its last attempt."""

    job: str
    payload: dict[str, Any]
    job_id: str
    failure: JobFailure
    batch_id: str | None = None
