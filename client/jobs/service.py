"""``JobService``: search jobs, look one up by id, cancel one. Read from Temporal alone.

A job with a ``JobWorkflow`` of its own (dispatched, scheduled, unique, or a batch job parked
in the dead-letter queue) is a visibility row; a batch job that has not failed is an entry of
its chunk's input (``batch_jobs``). A search by ``batch_id`` walks the batch's chunks in order,
so every job of the batch is listed, failed or not; the other searches list the jobs that have
a workflow, failed batch jobs included.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from temporalio.client import Client

from jobmodule.activities import JobModuleError, ids
from jobmodule.connection import UsesClient
from jobmodule.errors import JobNotFoundError
from jobmodule.jobs.batch_jobs import batch_job_row, batch_page
from jobmodule.jobs.details import job_workflow_info
from jobmodule.jobs.info import JobInfo, JobPage, JobSearch, decode_token, encode_token
from jobmodule.jobs.rows import VISIBLE_ONLY, rows_of
from jobmodule.rpc import not_found
from jobmodule.visibility import job_query
from jobmodule.workflows.states import JobState

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SCAN_PAGES = 10
"""Visibility pages read per call when a filter only the description can apply thins them."""
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
        search = JobSearch(queue=queue, job=job, status=state, since=since)
        if batch_id:
            return await batch_page(client, batch_id, search, limit, page_token)
        query = job_query(queue=queue, job=job, status=state, since=since)
        return await _workflow_page(client, query, search, limit, page_token)

    async def find(self, job_id: str) -> JobInfo:
        """One job with its payload, attempts and last error.

        Raises:
            JobNotFoundError: No job has that id.
        """
        client = await self.client()
        try:
            return await job_workflow_info(client, job_id)
        except JobNotFoundError:
            pass
        try:
            ref = ids.parse_batch_job_id(job_id)
        except ValueError:
            raise JobNotFoundError(job_id) from None
        row = await batch_job_row(client, ref.chunk_id, ref.index)
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
    client: Client, query: str, search: JobSearch, limit: int, page_token: str | None
) -> JobPage:
    """One page of JobWorkflow rows; open runs are described to tell queued from running."""
    token = decode_token(page_token, "v") if page_token else None
    rows: builtins.list[JobInfo] = []
    for _ in range(SCAN_PAGES):
        listing = client.list_workflows(query, page_size=limit, next_page_token=token)
        await listing.fetch_next_page()
        page = await rows_of(client, listing.current_page or [])
        rows.extend(row for row in page if search.keeps(row))
        token = listing.next_page_token
        if token is None or len(rows) >= limit or search.status not in VISIBLE_ONLY:
            break
    next_token = encode_token("v", token) if token else None
    return JobPage(jobs=rows, next_page_token=next_token)
