"""Inputs, state and reports of the batch and chunk workflows: one model each."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jobmodule.activities import BatchItem, JobBatch, JobFailure, JobSpec

FAILED_IDS_KEPT = 10_000
"""failed_job_ids kept in state; a larger list would push continue-as-new input toward 2 MB."""

HANDING_OVER = "BatchContinuingAsNew"
"""Error type of a ``wait_finished`` turned away by a run closing for continue-as-new."""

BATCH_CLOSED = "BatchClosed"
"""Error type of an ``add_page`` refused because the batch was cancelled or has finished."""

RELEASE_WAITERS_PATCH = "release-waiters-on-continue-as-new"
"""Runs that recorded this marker release in-flight ``wait_finished`` calls at a hand-over."""


EXTERNAL_NOT_FOUND = "ExternalWorkflowExecutionNotFound"
"""Error type of a signal or cancel sent to a workflow that is gone (closed, or never was)."""

COUNTERS_MEMO = "batch_counters"
"""Memo key of a batch's counters (``pending_jobs``, ``failed_jobs``, ``finished``) as of its
start (when the whole batch came with it), its end, and a ``retry_failed()`` that reopens it:
monitoring reads a finished batch's counters without a query, and any batch's without a worker."""
COUNTERS_MEMO_PATCH = "counters-memo-on-finish"
"""Runs that recorded this marker write ``COUNTERS_MEMO`` when the batch finishes or reopens."""


CHUNK_PROGRESS_SIGNAL = "chunk_progress"
"""The signal a chunk reports to its batch with (by name: the chunk cannot import the batch)."""


def counters_memo(batch: JobBatch) -> dict[str, int | bool]:
    """The counters a batch's memo carries (``COUNTERS_MEMO``); ``finished`` ones are final."""
    return {
        "pending_jobs": batch.pending_jobs,
        "failed_jobs": batch.failed_jobs,
        "finished": batch.finished,
    }


class BatchOptions(BaseModel):
    """How a batch behaves: Laravel's options, and knobs that keep it inside Temporal's limits."""

    name: str = ""
    allow_failures: bool = False
    then: JobSpec | None = None
    catch: JobSpec | None = None
    finally_: JobSpec | None = None
    queue: str = "default"
    """Task queue of the batch's workflows."""
    jobs_on_batch_queue: bool = False
    """``on_queue()`` was used: every job, added ones too, runs on ``queue`` (as in Laravel)."""
    chunk_size: int = Field(default=1000, ge=1, le=1000)
    """Jobs per chunk workflow; at most 1,000 keeps a chunk under 2,000 pending activities."""
    group_size: int = Field(default=100, ge=1)
    """Jobs whose first attempt runs in one activity task."""
    spread_small_pages: bool = True
    """A page that is a whole dispatch() or add() runs in smaller groups (the page's
    ``group_size``), spread over workers; off once ``tune(group_size=...)`` fixed the size."""
    group_concurrency: int = Field(default=16, ge=1)
    """Jobs of one group running at once."""
    max_chunks_in_flight: int = Field(default=200, ge=1, le=1500)
    """Open chunk children at once; new pages wait. Temporal's ceiling is 2,000 per workflow."""
    history_limit: int = Field(default=5000, ge=100)
    """Continue-as-new once the history has this many events (Temporal warns at 10,240)."""
    retention_days: float = 7.0
    """How long a finished batch with failed jobs stays open for ``retry_failed()``."""
    dead_letter_retention_days: float | None = None
    """Set for a coalesced dispatch's carrier: a job that fails for good gets a ``JobWorkflow``
    of its own, parked in the dead-letter queue this long, and the batch closes without
    waiting for ``retry_failed()``."""


class BatchState(BaseModel):
    """What a batch carries across continue-as-new: counters, open chunks, callbacks run."""

    batch: JobBatch
    open_chunks: dict[str, int] = Field(default_factory=dict)
    """Chunk workflow id -> jobs in it not yet reported done."""
    chunks_started: int = 0
    retry_rounds: int = 0
    seen_page_ids: list[str] = Field(default_factory=list)
    first_failure: JobFailure | None = None
    then_ran: bool = False
    catch_ran: bool = False
    finally_ran: bool = False
    failed_ids_dropped: int = 0
    """Failed ids beyond FAILED_IDS_KEPT, counted but not listed."""
    runs: int = 1
    open_until: datetime | None = None
    """A finished batch with failures stays open (for retries) until then."""
    retrying: int = 0
    """Parked jobs ``retry_parked`` sent again, not yet back (succeeded or parked again)."""
    retrying_ids: list[str] = Field(default_factory=list)
    """Their ids, as far as ``failed_job_ids`` listed them."""


class BatchInput(BaseModel):
    """Start (or continue) a batch."""

    batch_id: str
    options: BatchOptions
    created_at: datetime
    first_page: list[BatchItem] = Field(default_factory=list)
    """Jobs sent with the start itself, so a small batch costs one request."""
    sealed: bool = False
    """True when ``first_page`` is the whole batch."""
    first_page_group_size: int | None = None
    """Jobs per activity task for ``first_page`` when fewer than ``options.group_size``."""
    state: BatchState | None = None


class AddPageInput(BaseModel):
    """A page of jobs streamed into a running batch."""

    page_id: str
    """Idempotency key: a page re-sent after a lost reply is not added twice."""
    items: list[BatchItem]
    seal: bool = False
    """The last page of the dispatch: the batch may finish once its jobs are done."""
    group_size: int | None = None
    """Jobs per activity task for this page when fewer than ``options.group_size``."""


class RetryEntry(BaseModel):
    """A failed job to run again: where it came from, and where in its chain to resume."""

    index: int
    chain_offset: int = 0


class ChunkInput(BaseModel):
    """A chunk of up to 1,000 jobs, run by one child workflow."""

    batch_id: str
    chunk_id: str
    options: BatchOptions
    batch: JobBatch
    items: list[BatchItem] = Field(default_factory=list)
    group_size: int | None = None
    """Jobs per activity task when fewer than ``options.group_size`` (a small page spread out)."""
    source_chunk_id: str | None = None
    """For retry_failed: run again the ``retries`` of this earlier chunk, read from its input."""
    retries: list[RetryEntry] = Field(default_factory=list)


class ChunkReport(BaseModel):
    """Progress a chunk signals to its batch: deltas since the last report."""

    chunk_id: str
    succeeded: int = 0
    failed_ids: list[str] = Field(default_factory=list)
    first_failure: JobFailure | None = None
    skipped: int = 0
    """Jobs that will never run: the rest of a failed chain, or jobs of a cancelled chunk."""
    done: bool = False


class ChainInput(BaseModel):
    """``Bus.chain([...])``: jobs that run one after another."""

    chain_id: str
    jobs: list[JobSpec]
    catch: JobSpec | None = None


class ChainResult(BaseModel):
    """How a chain ended: all jobs done, or stopped at ``failed_index``."""

    completed: int
    failed_index: int | None = None
    failure: JobFailure | None = None
