"""``JobService``: search jobs, look one up by id, cancel one. Read from Temporal alone.

A job with a ``JobWorkflow`` of its own (dispatched, scheduled, unique, or a batch job parked
in the dead-letter queue) is a visibility row; a batch job that has not failed is an entry of
its chunk's input (``batch_jobs``). A search by ``batch_id`` walks the batch's chunks in order,
so every job of the batch is listed, failed or not; the other searches list the jobs that have
a workflow, failed batch jobs included.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError

from jobmodule.activities import JobFailure, JobModuleError, ids
from jobmodule.connection import UsesClient
from jobmodule.errors import JobNotFoundError
from jobmodule.jobs.batch_jobs import Chunk, batch_chunks, chunk_rows, parked_ids
from jobmodule.jobs.handle import CLOSED_STATES, running_attempt, state_from_description
from jobmodule.jobs.info import JobInfo, JobPage
from jobmodule.rpc import is_not_found, not_found
from jobmodule.visibility import JOB_WORKFLOWS, all_of, equals, job_query, quote
from jobmodule.workflows import search_attributes as sa
from jobmodule.workflows.job_models import JobInput
from jobmodule.workflows.states import JobState

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
DESCRIBE_CONCURRENCY = 16
"""Open runs described at once, to tell queued from running (one RPC each)."""
SCAN_PAGES = 10
"""Visibility pages read per call when a filter only the description can apply thins them."""
SCAN_CHUNKS = 20
"""Chunks read per call of a batch search (20,000 jobs) before it hands back a page token."""
VISIBLE_ONLY = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.RETRYING})
"""States visibility cannot tell apart: the search describes each open run to decide."""
SETTLED = frozenset(
    {
        JobState.SUCCEEDED,
        JobState.FORGOTTEN,
        JobState.EXPIRED,
        JobState.CANCELLED,
        JobState.TERMINATED,
    }
)


class JobService(UsesClient):
    """Find jobs, whatever started them: the search behind ``jobmodule jobs`` and the dashboard."""

    async def list(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        status: JobState | str | None = None,
        batch_id: str | None = None,
        since: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> JobPage:
        """Jobs newest first (a batch's in their order), one page of at most ``limit``.

        Raises:
            ValueError: An unknown ``status``, a ``limit`` out of 1..1000, or a page token
                that this search did not hand out.
        """
        state = _state(status)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        client = await self.client()
        search = _Search(queue=queue, job=job, status=state, since=since)
        if batch_id:
            return await _batch_page(client, batch_id, search, limit, page_token)
        query = job_query(queue=queue, job=job, status=state, since=since)
        return await _workflow_page(client, query, search, limit, page_token)

    async def find(self, job_id: str) -> JobInfo:
        """One job with its payload, attempts and last error.

        Raises:
            JobNotFoundError: No job has that id.
        """
        client = await self.client()
        try:
            return await _job_workflow_info(client, job_id)
        except JobNotFoundError:
            pass
        try:
            ref = ids.parse_batch_job_id(job_id)
        except ValueError:
            raise JobNotFoundError(job_id) from None
        row = await _batch_job_row(client, ref.chunk_id, ref.index)
        if row is None:
            raise JobNotFoundError(job_id)
        return row

    async def cancel(self, job_id: str) -> JobInfo:
        """Cancel a job that has not settled: it closes as ``cancelled`` and never runs again.

        A running attempt is asked to stop (a job sees it at its next heartbeat); a
        dead-lettered job leaves the dead-letter queue. A batch job is cancelled with its
        batch (``BatchHandle.cancel()``), since it runs inside the batch's chunk.

        Raises:
            JobNotFoundError: No job has that id.
            JobModuleError: The job has settled already, or it is a batch job.
        """
        info = await self.find(job_id)
        if info.batch_id and info.workflow_id != info.id:
            raise JobModuleError(
                f"Job {job_id} runs inside batch {info.batch_id}: cancel the batch "
                f"(`jobmodule batch cancel {info.batch_id}`)."
            )
        if info.status in SETTLED:
            raise JobModuleError(f"Job {job_id} is {info.status.value} already: nothing to cancel.")
        client = await self.client()
        with not_found(lambda: JobNotFoundError(job_id)):
            await client.get_workflow_handle(job_id).cancel()
        return info.model_copy(update={"status": JobState.CANCELLED})


class _Search:
    """The filters of one search, applied to rows that visibility could not filter."""

    def __init__(
        self,
        *,
        queue: str | None,
        job: str | None,
        status: JobState | None,
        since: datetime | None,
    ) -> None:
        self.queue = queue
        self.job = job
        self.status = status
        self.since = since

    def keeps(self, row: JobInfo) -> bool:
        if self.queue and row.queue != self.queue:
            return False
        if self.job and row.job != self.job:
            return False
        if self.status is not None and row.status != self.status:
            return False
        return not (self.since and row.dispatched_at and row.dispatched_at < self.since)


def _state(status: JobState | str | None) -> JobState | None:
    if status is None or isinstance(status, JobState):
        return status
    try:
        return JobState(status)
    except ValueError:
        known = ", ".join(state.value for state in JobState)
        raise ValueError(f"unknown job status {status!r}; use one of: {known}") from None


# -- jobs with a workflow of their own --------------------------------------------------------


async def _workflow_page(
    client: Client, query: str, search: _Search, limit: int, page_token: str | None
) -> JobPage:
    """One page of JobWorkflow rows; open runs are described to tell queued from running."""
    token = _decode_token(page_token, "v") if page_token else None
    rows: builtins.list[JobInfo] = []
    for _ in range(SCAN_PAGES):
        listing = client.list_workflows(query, page_size=limit, next_page_token=token)
        await listing.fetch_next_page()
        page = await _rows_of(client, listing.current_page or [])
        rows.extend(row for row in page if search.keeps(row))
        token = listing.next_page_token
        if token is None or len(rows) >= limit or search.status not in VISIBLE_ONLY:
            break
    next_token = "v" + base64.urlsafe_b64encode(token).decode() if token else None
    return JobPage(jobs=rows, next_page_token=next_token)


async def _rows_of(client: Client, executions: Sequence[WorkflowExecution]) -> list[JobInfo]:
    """Rows of listed JobWorkflows; the open, unparked ones read their state from a describe."""
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def row(execution: WorkflowExecution) -> JobInfo:
        info = await _row_from_listing(execution)
        if info.status not in VISIBLE_ONLY:
            return info
        async with gate:
            try:
                description = await client.get_workflow_handle(execution.id).describe()
            except RPCError as error:
                if is_not_found(error):
                    return info
                raise
        return _with_description(info, description)

    return list(await asyncio.gather(*(row(execution) for execution in executions)))


async def _row_from_listing(execution: WorkflowExecution) -> JobInfo:
    attributes = execution.typed_search_attributes
    recorded = attributes.get(sa.JOB_STATUS)
    status = execution.status
    if status == WorkflowExecutionStatus.COMPLETED:
        state = JobState(recorded) if recorded else JobState.SUCCEEDED
    elif status == WorkflowExecutionStatus.RUNNING:
        parked = recorded == JobState.DEAD_LETTERED
        state = JobState.DEAD_LETTERED if parked else JobState(recorded or JobState.QUEUED)
    else:
        state = CLOSED_STATES.get(status, JobState.TERMINATED) if status else JobState.TERMINATED
    failure = None
    if state in (JobState.DEAD_LETTERED, JobState.EXPIRED):
        failure = _memo_failure(await execution.memo())
    return JobInfo(
        id=execution.id,
        job=attributes.get(sa.JOB_CLASS) or "",
        queue=attributes.get(sa.JOB_QUEUE) or execution.task_queue,
        status=state,
        batch_id=attributes.get(sa.BATCH_ID),
        dispatched_at=execution.start_time,
        closed_at=execution.close_time,
        attempts=failure.attempts if failure else 0,
        failure=failure,
        workflow_id=execution.id,
        run_id=execution.run_id,
    )


def _with_description(info: JobInfo, description: WorkflowExecutionDescription) -> JobInfo:
    """The row with what only the run's description knows: queued, running or retrying."""
    attempt = running_attempt(description)
    attempts = info.attempts
    if attempt is not None:
        started = attempt.HasField("last_started_time") and attempt.last_started_time.seconds > 0
        attempts = attempt.attempt if started else attempt.attempt - 1
    return info.model_copy(
        update={"status": state_from_description(description), "attempts": attempts}
    )


def _memo_failure(memo: Mapping[str, Any]) -> JobFailure | None:
    raw = memo.get("failure")
    return JobFailure.model_validate(raw) if raw else None


async def _job_workflow_info(client: Client, job_id: str) -> JobInfo:
    """A JobWorkflow's row with its payload, attempts and last error, from its history."""
    handle = client.get_workflow_handle(job_id)
    with not_found(lambda: JobNotFoundError(job_id)):
        description = await handle.describe()
    if description.workflow_type != "JobWorkflow":
        raise JobNotFoundError(job_id)
    info = _with_description(await _row_from_listing(description), description)
    events = [event async for event in handle.fetch_history_events()]
    job_input = await _start_input(client, events)
    failure = info.failure or await _last_failure(client, events)
    attempts = max(info.attempts, _attempts_started(events))
    return info.model_copy(
        update={
            "payload": job_input.payload if job_input else None,
            "job": info.job or (job_input.job if job_input else ""),
            "failure": failure,
            "attempts": attempts,
        }
    )


async def _start_input(client: Client, events: Sequence[HistoryEvent]) -> JobInput | None:
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [decoded] = await client.data_converter.decode(payloads, [JobInput])
            return decoded if isinstance(decoded, JobInput) else None
    return None


def _attempts_started(events: Sequence[HistoryEvent]) -> int:
    """Attempts of the last run of the job's activity: the server writes each one's number."""
    attempts = 0
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attempts = max(attempts, event.activity_task_started_event_attributes.attempt)
    return attempts


async def _last_failure(client: Client, events: Sequence[HistoryEvent]) -> JobFailure | None:
    """The last recorded failure: a dead-lettered stay's memo is gone once retried, the
    workflow's result keeps the failure it recovered from."""
    for event in reversed(events):
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failure = event.activity_task_failed_event_attributes.failure
            kind = failure.application_failure_info.type or "ActivityFailure"
            return JobFailure(
                type=kind,
                message=failure.message,
                attempts=0,
                failed_at=event.event_time.ToDatetime(tzinfo=UTC),
                traceback=failure.stack_trace or None,
            )
    return None


# -- the jobs of one batch --------------------------------------------------------------------


async def _batch_page(
    client: Client, batch_id: str, search: _Search, limit: int, page_token: str | None
) -> JobPage:
    """One page of a batch's jobs, in order: token ``b<chunk number>:<index>`` resumes."""
    start_chunk, start_index = 0, 0
    if page_token:
        position = _decode_token(page_token, "b").decode()
        start_chunk, start_index = (int(part) for part in position.split(":"))
    chunks = [
        chunk for chunk in await batch_chunks(client, batch_id) if chunk.number >= start_chunk
    ]
    rows: builtins.list[JobInfo] = []
    for read, chunk in enumerate(chunks):
        if read == SCAN_CHUNKS:
            return JobPage(jobs=rows, next_page_token=_batch_token(chunk.number, 0))
        first = start_index if chunk.number == start_chunk else 0
        entries = (await _with_parked(client, await chunk_rows(client, batch_id, chunk)))[first:]
        for offset, row in enumerate(entries):
            if not search.keeps(row):
                continue
            rows.append(row)
            if len(rows) == limit:
                after = first + offset + 1
                return JobPage(jobs=rows, next_page_token=_batch_token(chunk.number, after))
    return JobPage(jobs=rows)


async def _with_parked(client: Client, rows: list[JobInfo]) -> list[JobInfo]:
    """Rows of a chunk, each replaced by its parked JobWorkflow's if the job failed for good."""
    if not rows:
        return rows
    wanted = {parked: row.id for row in rows for parked in parked_ids(row)}
    batch = rows[0].batch_id or ""
    parked: dict[str, JobInfo] = {}
    candidates = list(wanted)
    for start in range(0, len(candidates), 200):
        part = candidates[start : start + 200]
        clause = "WorkflowId IN (" + ", ".join(quote(one) for one in part) + ")"
        query = all_of(JOB_WORKFLOWS, equals(sa.BATCH_ID.name, batch), clause)
        async for execution in client.list_workflows(query):
            row = await _row_from_listing(execution)
            parked[wanted[execution.id]] = row
    return [parked.get(row.id, row).model_copy(update={"payload": row.payload}) for row in rows]


async def _batch_job_row(client: Client, chunk_id: str, index: int) -> JobInfo | None:
    """A batch job by its place, or None if its chunk or entry does not exist."""
    try:
        description = await client.get_workflow_handle(chunk_id).describe()
    except RPCError as error:
        if is_not_found(error):
            return None
        raise
    batch_id = description.typed_search_attributes.get(sa.BATCH_ID) or ""
    rows = await chunk_rows(client, batch_id, Chunk(chunk_id, 0, description))
    if index >= len(rows):
        return None
    return rows[index]


def _batch_token(chunk_number: int, index: int) -> str:
    return "b" + base64.urlsafe_b64encode(f"{chunk_number}:{index}".encode()).decode()


def _decode_token(token: str, kind: str) -> bytes:
    if not token.startswith(kind):
        raise ValueError(f"page token {token!r} is not from this search; start without it")
    try:
        return base64.urlsafe_b64decode(token[1:].encode())
    except ValueError:
        raise ValueError(f"page token {token!r} is damaged; start without it") from None
