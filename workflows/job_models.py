"""Input, result and outcome of ``JobWorkflow``: one model each, so fields can be added safely."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from jobmodule.activities import JobBatch, JobFailure, JobPolicy, JobSpec
from jobmodule.workflows.states import JobState


class JobInput(BaseModel):
    """A dispatched job: its name, validated payload and resolved policy."""

    job: str
    payload: dict[str, Any]
    policy: JobPolicy
    batch_id: str | None = None
    dead_letter_retention_days: float = 7.0
    """How long a dead-lettered job waits for retry or forget before it closes as failed."""
    failed_before: JobFailure | None = None
    """Set when the job already spent its attempts elsewhere (a coalesced dispatch's carrier
    batch, a batch callback): the workflow parks it in the dead-letter queue without running
    it again."""
    batch: JobBatch | None = None
    """For a batch's callback parked here: the batch as its attempts saw it (``self.batch``)."""
    batch_failure: JobFailure | None = None
    """For a batch's catch callback parked here: the failure that triggered it."""
    chain_rest: list[JobSpec] = Field(default_factory=list)
    """For a step of a ``Bus.chain`` parked here: the steps after it, run once it succeeds."""
    chain_catch: JobSpec | None = None
    """That chain's catch callback, for the rest of the chain."""
    start_delay_seconds: float | None = None
    """The start delay it was dispatched with (``.delay()``): its wait time begins after it."""


class JobOutcome(BaseModel):
    """How a job settled: succeeded (with its result), dead-lettered or forgotten."""

    state: JobState
    result: Any = None
    failure: JobFailure | None = None
    runs: int = 1
    """How many times the job was run from the start (1 + retries out of the dead-letter queue)."""
