"""Batch-side models the activities need: the JobBatch read model, job specs and group results.

They live here, in the lowest layer, because a running job sees its batch (``self.batch``) and
the group activity returns per-job outcomes; ``client`` re-exports ``JobBatch``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from jobmodule.activities.failure import JobFailure
from jobmodule.activities.policy import JobPolicy, shared


class JobBatch(BaseModel):
    """A batch's progress, with Laravel's field names and meanings."""

    id: str
    name: str = ""
    total_jobs: int = 0
    pending_jobs: int = 0
    """Jobs not yet finished (neither succeeded nor failed for good)."""
    processed_jobs: int = 0
    """Jobs that succeeded."""
    failed_jobs: int = 0
    failed_job_ids: list[str] = Field(default_factory=list)
    cancelled: bool = False
    finished: bool = False
    created_at: datetime | None = None
    finished_at: datetime | None = None
    cancelled_at: datetime | None = None
    allow_failures: bool = False
    sealed: bool = False
    """All jobs given at dispatch have arrived (``add()`` may still add more until finished)."""
    failed_callbacks: list[str] = Field(default_factory=list)
    """Callbacks (``then``, ``catch``, ``finally``) that failed for good: each waits in the
    dead-letter queue under ``BATCH_ID:NAME``."""

    @property
    def progress(self) -> int:
        """Percent of jobs done (succeeded or failed), 0 to 100."""
        if self.total_jobs == 0:
            return 100 if self.finished else 0
        done = self.processed_jobs + self.failed_jobs
        return int(done * 100 / self.total_jobs)

    @property
    def has_failures(self) -> bool:
        """True when at least one job failed for good."""
        return self.failed_jobs > 0


class JobSpec(BaseModel):
    """A job as data: its name, payload and resolved policy."""

    job: str
    payload: dict[str, Any]
    policy: JobPolicy

    @field_validator("policy")
    @classmethod
    def _share_policy(cls, policy: JobPolicy) -> JobPolicy:
        return shared(policy)


class GroupedJob(BaseModel):
    """One job inside a group activity, addressed by its index in the chunk."""

    index: int
    spec: JobSpec
    job_id: str | None = None
    """The job's id in its batch (``chunk:index``); groups sent before it existed lack it."""


class JobGroupInput(BaseModel):
    """Run many small jobs in one activity task; each keeps its own policy."""

    batch: JobBatch
    chunk_id: str
    jobs: list[GroupedJob]
    concurrency: int = 16
    stop_on_failure: bool = False
    """Without allow_failures a job failing for good cancels the batch: start no more jobs."""


class JobAttemptOutcome(BaseModel):
    """How one job's first attempt inside a group went."""

    index: int
    ok: bool
    failure: JobFailure | None = None
    retryable: bool = True
    retry_delay: float | None = None
    """Seconds the job asked to wait (release() or its backoff), None for the policy's."""


class JobGroupResult(BaseModel):
    """Per-job outcomes of a group activity, in any order; jobs never started have none."""

    outcomes: list[JobAttemptOutcome]


class BatchItem(BaseModel):
    """One entry of ``Bus.batch([...])``: a job, or a chain of jobs that run in order."""

    jobs: list[JobSpec]

    @property
    def is_chain(self) -> bool:
        return len(self.jobs) > 1


class LoadChunkItemsInput(BaseModel):
    """Fetch the jobs at ``indices`` of an earlier chunk, from that chunk's history."""

    chunk_id: str
    indices: list[int]


class LoadedItem(BaseModel):
    """One job (or chain) of an earlier chunk, with its index there."""

    index: int
    item: BatchItem
