"""Taking and giving back a job's permits from inside the workflow that runs the job.

``async with holder.held(job, policy, priority):`` asks each limiter the job needs (the lock
first, then the class's rate and concurrency), waits for every grant, runs the block, and
releases them, also on failure and cancellation. Waiting costs no worker slot and no attempt:
the workflow just sleeps until the limiter's signal. The workflow routes its
``permit_granted`` signal to :meth:`PermitHolder.granted`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import (
        JobPolicy,
        PermitGrant,
        PermitRelease,
        PermitRequest,
        RequestPermitInput,
        request_permit,
    )
    from jobmodule.activities.flow import LimiterRef, lease_seconds, limiters_for
    from jobmodule.activities.ids import permit_request_id, permit_request_number
    from jobmodule.activities.priority import DEFAULT_PRIORITY

REQUEST_TIMEOUT = timedelta(seconds=10)
REQUEST_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=5))
"""A request is retried until the server takes it: a job must not fail for want of a permit."""


class PermitHolder:
    """The permits one workflow run waits for and holds."""

    def __init__(self) -> None:
        self._granted: set[int] = set()
        """Request numbers granted; a number, not the id, so a replay under another id works."""
        self._requests = 0

    def granted(self, grant: PermitGrant) -> None:
        """The ``permit_granted`` signal: the limiter gave this request its permit."""
        self._granted.add(permit_request_number(grant.request_id))

    @contextlib.asynccontextmanager
    async def held(self, job: str, policy: JobPolicy, priority: int | None) -> AsyncIterator[None]:
        """Hold every permit ``policy`` calls for while the block runs (none: no cost)."""
        refs = limiters_for(job, policy)
        if not refs:
            yield
            return
        taken: list[tuple[str, int]] = []
        try:
            for ref in refs:
                self._requests += 1
                taken.append((ref.limiter_id, self._requests))
                await self._acquire(ref, self._requests, policy, priority)
            yield
        finally:
            for limiter_id, number in reversed(taken):
                await self._release(limiter_id, number)

    @staticmethod
    def _request_id(number: int) -> str:
        info = workflow.info()
        return permit_request_id(info.workflow_id, info.run_id, number)

    async def _acquire(
        self, ref: LimiterRef, number: int, policy: JobPolicy, priority: int | None
    ) -> None:
        info = workflow.info()
        request = PermitRequest(
            request_id=self._request_id(number),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            config=ref.config,
            priority=priority or DEFAULT_PRIORITY,
            lease_seconds=lease_seconds(policy),
        )
        await workflow.execute_local_activity(
            request_permit,
            RequestPermitInput(limiter_id=ref.limiter_id, task_queue=policy.queue, request=request),
            start_to_close_timeout=REQUEST_TIMEOUT,
            retry_policy=REQUEST_RETRY,
            summary=f"permit from {ref.limiter_id}",
        )
        await workflow.wait_condition(lambda: number in self._granted)

    async def _release(self, limiter_id: str, number: int) -> None:
        self._granted.discard(number)
        request_id = self._request_id(number)
        try:
            await workflow.get_external_workflow_handle(limiter_id).signal(
                "release", PermitRelease(request_id=request_id)
            )
        except Exception as error:
            # A limiter only closes with nothing held; its lease check frees what it missed.
            workflow.logger.warning("release of %s failed: %s", request_id, error)
