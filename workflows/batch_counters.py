"""What a batch counts: chunk reports, parked jobs retried and back, and reopening for a retry.

Plain functions on ``BatchState``, so ``BatchWorkflow`` keeps only the orchestration; nothing
here issues a workflow command.
"""

from __future__ import annotations

from jobmodule.activities import ids
from jobmodule.workflows.batch_models import (
    FAILED_IDS_KEPT,
    BatchState,
    ChunkReport,
    RetryEntry,
)


def count_report(state: BatchState, report: ChunkReport) -> bool:
    """Add a chunk's deltas; True when the report brought the batch's first failure."""
    batch = state.batch
    failed = len(report.failed_ids)
    batch.processed_jobs += report.succeeded
    batch.failed_jobs += failed
    batch.pending_jobs -= report.succeeded + failed + report.skipped
    room = FAILED_IDS_KEPT - len(batch.failed_job_ids)
    batch.failed_job_ids.extend(report.failed_ids[:room])
    state.failed_ids_dropped += max(0, failed - max(room, 0))
    if chunk := state.open_chunks.get(report.chunk_id):
        state.open_chunks[report.chunk_id] = chunk - report.succeeded - failed
    if report.done:
        state.open_chunks.pop(report.chunk_id, None)
    if report.first_failure is not None and state.first_failure is None:
        state.first_failure = report.first_failure
        return True
    return False


def count_recovered(state: BatchState, job_id: str) -> bool:
    """A parked job succeeded on retry: count it processed. True when no failure is left."""
    batch = state.batch
    if _take_retrying(state, job_id):
        batch.pending_jobs -= 1
    elif job_id in batch.failed_job_ids:  # retried on its own, out of the DLQ
        batch.failed_job_ids.remove(job_id)
        batch.failed_jobs -= 1
    elif state.failed_ids_dropped > 0:
        state.failed_ids_dropped -= 1  # one of those counted but not listed
        batch.failed_jobs -= 1
    else:
        return False  # not one of ours, or counted already
    batch.processed_jobs += 1
    return batch.failed_jobs == 0 and state.retrying == 0


def count_failed_again(state: BatchState, job_id: str) -> None:
    """A parked job the batch was retrying failed again and is parked once more."""
    if not _take_retrying(state, job_id):
        return  # retried on its own: it was counted as failed, and still is
    batch = state.batch
    batch.pending_jobs -= 1
    batch.failed_jobs += 1
    if len(batch.failed_job_ids) < FAILED_IDS_KEPT:
        batch.failed_job_ids.append(job_id)
    else:
        state.failed_ids_dropped += 1


def reopen_for_parked_retry(state: BatchState) -> None:
    """The parked jobs count as pending again, while the client retries them."""
    batch = state.batch
    state.retrying_ids = list(batch.failed_job_ids)
    state.retrying = batch.failed_jobs
    batch.pending_jobs += batch.failed_jobs
    batch.failed_jobs = 0
    batch.failed_job_ids = []
    state.failed_ids_dropped = 0
    batch.finished = False
    batch.finished_at = None
    state.first_failure = None


def reopen_for_retry(state: BatchState) -> dict[str, list[RetryEntry]]:
    """The failed jobs count as pending again; returns them by the chunk that ran them."""
    batch = state.batch
    by_chunk: dict[str, list[RetryEntry]] = {}
    for job_id in batch.failed_job_ids:
        ref = ids.parse_batch_job_id(job_id)
        by_chunk.setdefault(ref.chunk_id, []).append(
            RetryEntry(index=ref.index, chain_offset=ref.step)
        )
    count = len(batch.failed_job_ids)
    batch.failed_job_ids = []
    batch.failed_jobs -= count
    batch.pending_jobs += count
    batch.finished = False
    batch.finished_at = None
    batch.cancelled = False
    batch.cancelled_at = None
    state.first_failure = None
    state.retry_rounds += 1
    return by_chunk


def _take_retrying(state: BatchState, job_id: str) -> bool:
    """Whether ``job_id`` was one of the parked jobs ``retry_parked`` is waiting for."""
    if job_id in state.retrying_ids:
        state.retrying_ids.remove(job_id)
    elif state.retrying <= len(state.retrying_ids):
        return False
    state.retrying -= 1
    return True
