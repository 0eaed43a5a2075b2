"""The dead-letter queue: Laravel's ``failed_jobs`` table, read from Temporal visibility.

A dead-lettered job is a parked ``JobWorkflow`` with ``JobStatus="dead_lettered"``; its failure
and payload sit in the memo. Listing is one visibility query per page; bulk retry and flush are
one Temporal batch operation, not a round trip per job.
"""

from __future__ import annotations

from temporalio.client import Client

from jobmodule.connection import UsesClient, with_search_attributes
from jobmodule.failures.batch_operations import signal_all
from jobmodule.failures.models import FailedJob, failed_job_from
from jobmodule.jobs.handle import JobHandle
from jobmodule.visibility import all_of, equals, job_filters
from jobmodule.workflows import JOB_STATUS, JobState


def dead_letter_query(*, queue: str | None = None, job: str | None = None) -> str:
    """The visibility query that selects parked jobs, optionally of one queue or job class."""
    return all_of(
        'WorkflowType = "JobWorkflow"',
        'ExecutionStatus = "Running"',
        equals(JOB_STATUS.name, JobState.DEAD_LETTERED.value),
        *job_filters(queue=queue, job=job),
    )


class FailureHandler(UsesClient):
    """Work the dead-letter queue: list, retry, forget, and their bulk forms."""

    async def list(
        self, *, queue: str | None = None, job: str | None = None, limit: int | None = None
    ) -> list[FailedJob]:
        """Dead-lettered jobs, newest first."""
        client = await self.client()
        query = dead_letter_query(queue=queue, job=job)

        async def read() -> list[FailedJob]:
            return [
                await failed_job_from(execution)
                async for execution in client.list_workflows(query, limit=limit)
            ]

        rows = await with_search_attributes(client, read)
        rows.sort(key=lambda row: row.failed_at, reverse=True)
        return rows

    async def count(self, *, queue: str | None = None, job: str | None = None) -> int:
        """How many jobs wait in the dead-letter queue."""
        client = await self.client()
        return await _count(client, dead_letter_query(queue=queue, job=job))

    async def retry(self, job_id: str) -> None:
        """Run one dead-lettered job again (Laravel ``queue:retry ID``)."""
        await JobHandle(id=job_id, client=await self.client()).retry()

    async def forget(self, job_id: str) -> None:
        """Drop one dead-lettered job (Laravel ``queue:forget ID``)."""
        await JobHandle(id=job_id, client=await self.client()).forget()

    async def retry_all(self, *, queue: str | None = None, job: str | None = None) -> int:
        """Retry every dead-lettered job in one batch operation; returns how many were sent."""
        return await self._signal_all("dlq_retry", dead_letter_query(queue=queue, job=job))

    async def flush(self, *, queue: str | None = None, job: str | None = None) -> int:
        """Forget every dead-lettered job in one batch operation (Laravel ``queue:flush``)."""
        return await self._signal_all("dlq_forget", dead_letter_query(queue=queue, job=job))

    async def _signal_all(self, signal: str, query: str) -> int:
        client = await self.client()
        if await _count(client, query) == 0:
            return 0
        return await signal_all(client, query, signal)


async def _count(client: Client, query: str) -> int:
    return (await with_search_attributes(client, lambda: client.count_workflows(query))).count
