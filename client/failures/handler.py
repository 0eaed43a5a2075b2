"""The dead-letter queue: Laravel's ``failed_jobs`` table, read from Temporal visibility.

A dead-lettered job is a parked ``JobWorkflow`` with ``JobStatus="dead_lettered"``; its failure
(with its stack and frame) and payload sit in the memo, its root-cause group and failure time
in search attributes. Every job that failed for good is here: independent jobs, batch jobs,
chain steps, coalesced jobs and callbacks. Listing is one visibility query per page; bulk
retry, flush, group actions and pruning are one Temporal batch operation, not a round trip per
job.
"""

from __future__ import annotations

import asyncio
import builtins
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from jobmodule.batch_operations import signal_all
from jobmodule.connection import UsesClient, with_search_attributes
from jobmodule.failures.models import FailedJob, FailureGroup, failed_job_from, groups_of
from jobmodule.jobs.handle import JobHandle
from jobmodule.visibility import dead_letter_query
from jobmodule.workflows.job import DLQ_FORGET_SIGNAL, DLQ_RETRY_SIGNAL

RETRY_SIGNAL = DLQ_RETRY_SIGNAL
FORGET_SIGNAL = DLQ_FORGET_SIGNAL


class FailureHandler(UsesClient):
    """Work the dead-letter queue: list, group, retry, forget, prune, and their bulk forms."""

    async def list(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        batch_id: str | None = None,
        group: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[FailedJob]:
        """Dead-lettered jobs, newest first; ``since`` keeps those that failed from then on."""
        query = dead_letter_query(
            queue=queue, job=job, batch_id=batch_id, group=group, failed_since=since
        )
        return await self._rows(query, limit=limit)

    async def count(self, *, queue: str | None = None, job: str | None = None) -> int:
        """How many jobs wait in the dead-letter queue."""
        client = await self.client()
        return await _count(client, dead_letter_query(queue=queue, job=job))

    async def groups(
        self,
        *,
        queue: str | None = None,
        job: str | None = None,
        since: datetime | None = None,
        scan: int | None = None,
    ) -> builtins.list[FailureGroup]:
        """Root-cause groups of the parked jobs, largest first (batch failures included).

        With ``scan``, the groups are found among the newest ``scan`` parked jobs only, and
        each is then counted exactly by one visibility count: the cost is bounded however
        deep the queue is (a dashboard page), at the price of missing groups whose every job
        is older than those. ``first_failed_at`` is then the oldest of the scanned jobs.
        """
        query = dead_letter_query(queue=queue, job=job, failed_since=since)
        rows = await self._rows(query, limit=scan)
        found = groups_of(rows)
        if scan is None or len(rows) < scan:
            return found  # every parked job was read: the counts are exact already
        client = await self.client()
        counts = await asyncio.gather(
            *(
                _count(
                    client,
                    dead_letter_query(queue=queue, job=job, group=group.id, failed_since=since),
                )
                for group in found
            )
        )
        exact = [
            group.model_copy(update={"count": n}) for group, n in zip(found, counts, strict=True)
        ]
        exact.sort(key=lambda group: (group.count, group.last_failed_at), reverse=True)
        return exact

    async def retry(self, job_id: str) -> None:
        """Run one dead-lettered job again (Laravel ``queue:retry ID``)."""
        await JobHandle(id=job_id, client=await self.client()).retry()

    async def forget(self, job_id: str) -> None:
        """Drop one dead-lettered job (Laravel ``queue:forget ID``)."""
        await JobHandle(id=job_id, client=await self.client()).forget()

    async def retry_all(
        self, *, queue: str | None = None, job: str | None = None, group: str | None = None
    ) -> int:
        """Retry every dead-lettered job (of a queue, job or group) in one batch operation;
        returns how many were sent."""
        query = dead_letter_query(queue=queue, job=job, group=group)
        return await self._signal_all(RETRY_SIGNAL, query)

    async def flush(self, *, queue: str | None = None, job: str | None = None) -> int:
        """Forget every dead-lettered job in one batch operation (Laravel ``queue:flush``)."""
        return await self._signal_all(FORGET_SIGNAL, dead_letter_query(queue=queue, job=job))

    async def retry_group(self, group_id: str) -> int:
        """Retry every job of a root-cause group, in one batch operation."""
        return await self._signal_all(RETRY_SIGNAL, dead_letter_query(group=group_id))

    async def forget_group(self, group_id: str) -> int:
        """Forget every job of a root-cause group, in one batch operation."""
        return await self._signal_all(FORGET_SIGNAL, dead_letter_query(group=group_id))

    async def prune(
        self, *, older_than: timedelta = timedelta(hours=48), queue: str | None = None
    ) -> int:
        """Forget the parked jobs that failed more than ``older_than`` ago (Laravel's
        ``queue:prune-failed``), in one batch operation; returns how many."""
        cutoff = datetime.now(UTC) - older_than
        query = dead_letter_query(queue=queue, failed_before=cutoff)
        return await self._signal_all(FORGET_SIGNAL, query)

    async def _rows(self, query: str, *, limit: int | None = None) -> builtins.list[FailedJob]:
        client = await self.client()

        async def read() -> builtins.list[FailedJob]:
            return [
                await failed_job_from(execution)
                async for execution in client.list_workflows(query, limit=limit)
            ]

        rows = await with_search_attributes(client, read)
        rows.sort(key=lambda row: row.failed_at, reverse=True)
        return rows

    async def _signal_all(self, signal: str, query: str) -> int:
        client = await self.client()
        if await _count(client, query) == 0:
            return 0
        return await signal_all(client, query, signal)


async def _count(client: Client, query: str) -> int:
    return (await with_search_attributes(client, lambda: client.count_workflows(query))).count
