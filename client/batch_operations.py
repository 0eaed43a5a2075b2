"""Temporal batch operations: one server-side sweep over a visibility query, not a call per job.

The dead-letter queue's bulk retry, flush, prune and group actions, and a batch's
``retry_failed()``, all go through ``signal_all``.
"""

from __future__ import annotations

import asyncio

from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    StartBatchOperationRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from jobmodule.activities import ids
from jobmodule.errors import BatchOperationError

POLL_SECONDS = 0.2
START_ATTEMPTS = 50


async def signal_all(client: Client, query: str, signal: str) -> int:
    """Send ``signal`` to every workflow ``query`` selects; return how many got it."""
    job_id = ids.batch_operation_id(signal)
    request = StartBatchOperationRequest(
        namespace=client.namespace,
        visibility_query=query,
        job_id=job_id,
        reason=f"jobmodule {signal}",
        signal_operation=BatchOperationSignal(signal=signal, identity=client.identity),
    )
    await _start(client, request)
    return await _wait(client, job_id)


EXECUTIONS_PER_OPERATION = 1000
"""Workflows named in one batch operation; more go in several."""


async def signal_each(client: Client, workflow_ids: list[str], signal: str) -> int:
    """Send ``signal`` to these workflows, by id (no visibility lag), in batch operations."""
    sent = 0
    for start in range(0, len(workflow_ids), EXECUTIONS_PER_OPERATION):
        job_id = ids.batch_operation_id(signal)
        chunk = workflow_ids[start : start + EXECUTIONS_PER_OPERATION]
        request = StartBatchOperationRequest(
            namespace=client.namespace,
            executions=[WorkflowExecution(workflow_id=id) for id in chunk],
            job_id=job_id,
            reason=f"jobmodule {signal}",
            signal_operation=BatchOperationSignal(signal=signal, identity=client.identity),
        )
        await _start(client, request)
        sent += await _wait(client, job_id)
    return sent


async def _start(client: Client, request: StartBatchOperationRequest) -> None:
    # Servers allow few concurrent batch operations per namespace (1 by default); queue up.
    for _ in range(START_ATTEMPTS):
        try:
            await client.workflow_service.start_batch_operation(request)
            return
        except RPCError as error:
            if error.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                raise
        await asyncio.sleep(POLL_SECONDS)
    raise BatchOperationError(
        f"the server kept refusing a new batch operation for {POLL_SECONDS * START_ATTEMPTS:g}s "
        "(one runs per namespace at a time by default); try again later"
    )


async def _wait(client: Client, job_id: str) -> int:
    request = DescribeBatchOperationRequest(namespace=client.namespace, job_id=job_id)
    while True:
        description = await client.workflow_service.describe_batch_operation(request)
        if description.state == BatchOperationState.BATCH_OPERATION_STATE_FAILED:
            raise BatchOperationError(f"batch operation {job_id} failed on the server")
        if description.state == BatchOperationState.BATCH_OPERATION_STATE_COMPLETED:
            return int(description.complete_operation_count)
        # No push notification exists for batch operations; poll the server's own record.
        await asyncio.sleep(POLL_SECONDS)
