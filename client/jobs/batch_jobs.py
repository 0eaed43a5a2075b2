"""The jobs of a batch as ``JobInfo`` rows, read from its chunks.

A batch job has no workflow of its own until it fails for good: it is an entry of a chunk's
start input, and it runs inside that chunk's history. So its row is built from the chunk (the
job, queue and payload from the input, the state from the chunk's run) and, where the job was
parked in the dead-letter queue, from that parked ``JobWorkflow``, which knows better.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from jobmodule.activities import ids
from jobmodule.jobs.info import JobInfo, JobPage, JobSearch, decode_token, encode_token
from jobmodule.jobs.rows import row_from_listing
from jobmodule.rpc import is_not_found
from jobmodule.visibility import JOB_WORKFLOWS, all_of, chunk_query, equals, quote
from jobmodule.workflows import search_attributes as sa
from jobmodule.workflows.batch_models import ChunkInput
from jobmodule.workflows.states import JobState

FIRST_CHUNK = re.compile(r"-c(?P<number>\d{5})$")
"""A batch's own chunks (``BATCH-c00001``); retry rounds re-run jobs under their first ids."""

CHUNK_STATES = {
    WorkflowExecutionStatus.COMPLETED: JobState.SUCCEEDED,
    WorkflowExecutionStatus.CANCELED: JobState.CANCELLED,
    WorkflowExecutionStatus.TERMINATED: JobState.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT: JobState.TERMINATED,
    WorkflowExecutionStatus.FAILED: JobState.TERMINATED,
}
"""A job of a closed chunk that was not parked ended as its chunk did."""
SCAN_CHUNKS = 20
"""Chunks read per call of a batch search (20,000 jobs) before it hands back a page token."""
PARKED_PER_QUERY = 200
"""Parked ids asked for in one visibility query."""


@dataclass(frozen=True)
class Chunk:
    """One chunk of a batch, as visibility lists it."""

    id: str
    number: int
    execution: WorkflowExecution


async def batch_chunks(client: Client, batch_id: str) -> list[Chunk]:
    """The batch's chunks in order (at most 1,000 jobs each, so 1,000 rows for a million)."""
    found = []
    async for execution in client.list_workflows(chunk_query(batch_id), page_size=1000):
        match = FIRST_CHUNK.search(execution.id)
        if match and execution.id.startswith(batch_id):
            found.append(Chunk(execution.id, int(match["number"]), execution))
    found.sort(key=lambda chunk: chunk.number)
    return found


async def chunk_rows(client: Client, batch_id: str, chunk: Chunk) -> list[JobInfo]:
    """Every entry of ``chunk`` as a row, in order; its state as far as the chunk tells."""
    chunk_input, running = await asyncio.gather(
        _chunk_input(client, chunk.id), _has_started_attempt(client, chunk)
    )
    execution = chunk.execution
    if execution.status == WorkflowExecutionStatus.RUNNING:
        state = JobState.RUNNING if running else JobState.QUEUED
    else:
        closed = execution.status
        state = CHUNK_STATES.get(closed, JobState.TERMINATED) if closed else JobState.TERMINATED
    rows = []
    for index, item in enumerate(chunk_input.items if chunk_input else []):
        first = item.jobs[0]
        rows.append(
            JobInfo(
                id=ids.batch_job_id(chunk.id, index),
                job=first.job,
                queue=first.policy.queue,
                status=state,
                batch_id=batch_id,
                dispatched_at=execution.start_time,
                closed_at=execution.close_time if state == JobState.SUCCEEDED else None,
                payload=first.payload,
                workflow_id=chunk.id,
                run_id=execution.run_id,
                steps=len(item.jobs),
            )
        )
    return rows


def parked_ids(row: JobInfo) -> Iterable[str]:
    """The ids under which this entry's jobs park when they fail for good (chain steps too)."""
    if row.steps == 1:
        return [row.id]
    return [ids.chain_step_id(row.id, step) for step in range(row.steps)]


async def _chunk_input(client: Client, chunk_id: str) -> ChunkInput | None:
    """The chunk's start input: its entries, with their jobs, queues and payloads."""
    handle = client.get_workflow_handle(chunk_id)
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [decoded] = await client.data_converter.decode(payloads, [ChunkInput])
            return decoded if isinstance(decoded, ChunkInput) else None
        break
    return None


async def _has_started_attempt(client: Client, chunk: Chunk) -> bool:
    """Whether an open chunk is running a job now (else its jobs still wait for a worker)."""
    if chunk.execution.status != WorkflowExecutionStatus.RUNNING:
        return False
    description = await client.get_workflow_handle(chunk.id).describe()
    started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    return any(
        activity.state == started for activity in description.raw_description.pending_activities
    )


async def batch_page(
    client: Client, batch_id: str, search: JobSearch, limit: int, page_token: str | None
) -> JobPage:
    """One page of a batch's jobs, in order: token ``b<chunk number>:<index>`` resumes."""
    start_chunk, start_index = 0, 0
    if page_token:
        position = decode_token(page_token, "b").decode()
        start_chunk, start_index = (int(part) for part in position.split(":"))
    chunks = [
        chunk for chunk in await batch_chunks(client, batch_id) if chunk.number >= start_chunk
    ]
    rows: list[JobInfo] = []
    for read, chunk in enumerate(chunks):
        if read == SCAN_CHUNKS:
            return JobPage(jobs=rows, next_page_token=batch_token(chunk.number, 0))
        first = start_index if chunk.number == start_chunk else 0
        entries = (await with_parked(client, await chunk_rows(client, batch_id, chunk)))[first:]
        for offset, row in enumerate(entries):
            if not search.keeps(row):
                continue
            rows.append(row)
            if len(rows) == limit:
                after = first + offset + 1
                return JobPage(jobs=rows, next_page_token=batch_token(chunk.number, after))
    return JobPage(jobs=rows)


async def with_parked(client: Client, rows: list[JobInfo]) -> list[JobInfo]:
    """Rows of a chunk, each replaced by its parked JobWorkflow's if the job failed for good."""
    if not rows:
        return rows
    wanted = {parked: row.id for row in rows for parked in parked_ids(row)}
    batch = rows[0].batch_id or ""
    parked: dict[str, JobInfo] = {}
    candidates = list(wanted)
    for start in range(0, len(candidates), PARKED_PER_QUERY):
        part = candidates[start : start + PARKED_PER_QUERY]
        clause = "WorkflowId IN (" + ", ".join(quote(one) for one in part) + ")"
        query = all_of(JOB_WORKFLOWS, equals(sa.BATCH_ID.name, batch), clause)
        async for execution in client.list_workflows(query):
            row = await row_from_listing(execution)
            parked[wanted[execution.id]] = row
    return [parked.get(row.id, row).model_copy(update={"payload": row.payload}) for row in rows]


async def batch_job_row(client: Client, chunk_id: str, index: int) -> JobInfo | None:
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


def batch_token(chunk_number: int, index: int) -> str:
    """The page token that resumes a batch search at entry ``index`` of chunk ``chunk_number``."""
    return encode_token("b", f"{chunk_number}:{index}".encode())
