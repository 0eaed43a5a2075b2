"""Input, result and outcome of ``JobWorkflow``: one model each, so fields can be added safely."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from jobmodule.activities import JobFailure, JobPolicy
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
    batch): the workflow parks it in the dead-letter queue without running it again."""
    start_delay_seconds: float | None = None
    """The start delay it was dispatched with (``.delay()``): its wait time begins after it."""


class JobOutcome(BaseModel):
    """How a job settled: succeeded (with its result), dead-lettered or forgotten."""

    state: JobState
    result: Any = None
    failure: JobFailure | None = None
    runs: int = 1
    """How many times the job was run from the start (1 + retries out of the dead-letter queue)."""
