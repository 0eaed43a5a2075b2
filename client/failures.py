"""The dead-letter queue: Laravel's ``failed_jobs`` table, read from Temporal visibility.

A dead-lettered job is a parked ``JobWorkflow`` with ``JobStatus="dead_lettered"``; its failure
and payload sit in the memo. Listing is one visibility query per page; bulk retry and flush are
one Temporal batch operation, not a round trip per job.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    StartBatchOperationRequest,
)
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from activities import JobModuleError
from client.connection import get_default_client
from client.handle import JobHandle
from workflows import JOB_CLASS, JOB_QUEUE, JobState

BATCH_OPERATION_POLL_SECONDS = 0.2
BATCH_OPERATION_START_ATTEMPTS = 50


class FailedJob(BaseModel):
    """One dead-lettered job (a row of Laravel's ``failed_jobs``)."""

    id: str
    """The job id (its workflow id)."""
    job: str
    """The job's name, e.g. ``app.jobs.ProcessUserData``."""
    queue: str
    payload: dict[str, Any] | None
    """The payload, or None when it was too large to copy into the memo."""
    exception: str
    """``Type: message`` of the last error."""
    exception_type: str
    exception_message: str
    attempts: int
    failed_at: datetime


def quote(value: str) -> str:
    """Quote a value for a visibility query."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dead_letter_query(*, queue: str | None = None, job: str | None = None) -> str:
    """The visibility query that selects parked jobs, optionally of one queue or job class."""
    clauses = [
        'WorkflowType = "JobWorkflow"',
        'ExecutionStatus = "Running"',
        f"JobStatus = {quote(JobState.DEAD_LETTERED.value)}",
    ]
    if queue:
        clauses.append(f"JobQueue = {quote(queue)}")
    if job:
        clauses.append(f"JobClass = {quote(job)}")
    return " AND ".join(clauses)


async def failed_job_from(execution: WorkflowExecution) -> FailedJob:
    """Build the read model from one visibility row (search attributes + memo)."""
    memo = await execution.memo()
    failure = memo.get("failure") or {}
    attributes = execution.typed_search_attributes
    kind = str(failure.get("type", "Unknown"))
    message = str(failure.get("message", ""))
    failed_at = failure.get("failed_at") or execution.start_time
    return FailedJob(
        id=execution.id,
        job=attributes.get(JOB_CLASS) or "",
        queue=attributes.get(JOB_QUEUE) or execution.task_queue,
        payload=memo.get("payload"),
        exception=f"{kind}: {message}",
        exception_type=kind,
        exception_message=message,
        attempts=int(failure.get("attempts", 0)),
        failed_at=failed_at,
    )


def visibility_error(error: RPCError) -> Exception:
    """Name the fix when a query fails because our search attributes are not registered."""
    if "invalid search attribute" in error.message:
        return JobModuleError(
            f"{error.message}: jobmodule's search attributes are not registered on this "
            "namespace yet. Start a worker once (it registers them) or run `jobs dev`."
        )
    return error


class FailureHandler:
    """Work the dead-letter queue: list, retry, forget, and their bulk forms."""

    def __init__(self, client: Client | None = None) -> None:
        self._client = client

    async def client(self) -> Client:
        """The client in use (the default one unless given)."""
        if self._client is None:
            self._client = await get_default_client()
        return self._client

    async def list(
        self, *, queue: str | None = None, job: str | None = None, limit: int | None = None
    ) -> list[FailedJob]:
        """Dead-lettered jobs, newest first."""
        client = await self.client()
        rows: list[FailedJob] = []
        query = dead_letter_query(queue=queue, job=job)
        try:
            async for execution in client.list_workflows(query, limit=limit):
                rows.append(await failed_job_from(execution))
        except RPCError as error:
            raise visibility_error(error) from None
        rows.sort(key=lambda row: row.failed_at, reverse=True)
        return rows

    async def count(self, *, queue: str | None = None, job: str | None = None) -> int:
        """How many jobs wait in the dead-letter queue."""
        client = await self.client()
        return await self._count(client, dead_letter_query(queue=queue, job=job))

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
        if await self._count(client, query) == 0:
            return 0
        job_id = f"jobmodule-{signal}-{uuid.uuid4().hex[:12]}"
        request = StartBatchOperationRequest(
            namespace=client.namespace,
            visibility_query=query,
            job_id=job_id,
            reason=f"jobmodule {signal}",
            signal_operation=BatchOperationSignal(signal=signal, identity=client.identity),
        )
        await self._start_batch_operation(client, request)
        return await self._wait_batch_operation(client, job_id)

    async def _count(self, client: Client, query: str) -> int:
        try:
            return (await client.count_workflows(query)).count
        except RPCError as error:
            raise visibility_error(error) from None

    async def _start_batch_operation(
        self, client: Client, request: StartBatchOperationRequest
    ) -> None:
        # Servers allow few concurrent batch operations per namespace (1 by default); queue up.
        for _ in range(BATCH_OPERATION_START_ATTEMPTS):
            try:
                await client.workflow_service.start_batch_operation(request)
                return
            except RPCError as error:
                if error.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                    raise
            await asyncio.sleep(BATCH_OPERATION_POLL_SECONDS)
        raise TimeoutError("the server kept refusing a new batch operation; try again later")

    async def _wait_batch_operation(self, client: Client, job_id: str) -> int:
        request = DescribeBatchOperationRequest(namespace=client.namespace, job_id=job_id)
        while True:
            description = await client.workflow_service.describe_batch_operation(request)
            if description.state == BatchOperationState.BATCH_OPERATION_STATE_FAILED:
                raise RuntimeError(f"batch operation {job_id} failed on the server")
            if description.state == BatchOperationState.BATCH_OPERATION_STATE_COMPLETED:
                return int(description.complete_operation_count)
            # No push notification exists for batch operations; poll the server's own record.
            await asyncio.sleep(BATCH_OPERATION_POLL_SECONDS)
