"""``JobHandle``: what ``dispatch()`` returns, to follow one job by its id."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from client.batch_handle import BatchHandle
from client.errors import (
    JobDeadLetteredError,
    JobExpiredError,
    JobForgottenError,
    JobNotFoundError,
    NotDeadLetteredError,
)
from client.sync import run_sync
from client.updates import execute_update
from workflows import JOB_STATUS, JobOutcome, JobState

UNKNOWN_START = datetime.min.replace(tzinfo=UTC)
"""Sentinel: the handle was built from an id, so the start delay must be looked up."""


@dataclass(frozen=True)
class JobHandle:
    """A dispatched job. ``id`` is its workflow id, shown in the Web UI and the CLI."""

    id: str
    client: Client
    job: str | None = None
    not_before: datetime | None = UNKNOWN_START
    """When a delayed job may start; None when it was not delayed, UNKNOWN_START if unknown."""

    async def status(self) -> JobState | str:
        """queued, running, retrying, succeeded, dead_lettered, forgotten, expired or cancelled.

        Read from the server's description (no worker needed): the search attribute says where
        the workflow is, the pending activity says whether an attempt is running or waiting.
        """
        description = await self._describe()
        recorded = description.typed_search_attributes.get(JOB_STATUS)
        if description.status == WorkflowExecutionStatus.COMPLETED:
            return JobState(recorded) if recorded else JobState.SUCCEEDED
        if description.status == WorkflowExecutionStatus.FAILED:
            return JobState.EXPIRED
        if description.status != WorkflowExecutionStatus.RUNNING:
            return description.status.name.lower() if description.status else "unknown"
        if recorded == JobState.DEAD_LETTERED:
            return JobState.DEAD_LETTERED
        pending = [
            activity
            for activity in description.raw_description.pending_activities
            if activity.activity_type.name == "run_job"
        ]
        if not pending:
            return JobState(recorded) if recorded else JobState.QUEUED
        activity = pending[0]
        if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            return JobState.RUNNING
        if activity.attempt > 1:
            return JobState.RETRYING
        return JobState.QUEUED if recorded != JobState.RETRYING else JobState.RETRYING

    async def _describe(self) -> WorkflowExecutionDescription:
        try:
            return await self.client.get_workflow_handle(self.id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(self.id) from None
            raise

    async def outcome(self) -> JobOutcome:
        """Wait until the job succeeded, was dead-lettered or forgotten, and return how."""
        handle = self.client.get_workflow_handle(self.id, result_type=JobOutcome)
        await self._wait_for_start_delay()
        try:
            return await execute_update(handle, "wait_settled", result_type=JobOutcome)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        # The run has closed already (or never existed): its result is the outcome.
        try:
            return await handle.result()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(self.id) from None
            raise
        except WorkflowFailureError as error:
            raise JobExpiredError(f"Job {self.id} closed without success: {error.cause}") from None

    async def _wait_for_start_delay(self) -> None:
        """Hold back until a delayed job's start time: any update or signal would start it early."""
        not_before = self.not_before
        if not_before is UNKNOWN_START:
            not_before = (await self._describe()).execution_time
        if not_before is not None:
            remaining = (not_before - datetime.now(UTC)).total_seconds()
            if remaining > 0:
                await asyncio.sleep(remaining)

    async def result(self) -> Any:
        """The value ``handle()`` returned. Raises if the job is dead-lettered or forgotten."""
        outcome = await self.outcome()
        if outcome.state == JobState.SUCCEEDED:
            return outcome.result
        if outcome.state == JobState.FORGOTTEN:
            raise JobForgottenError(self.id)
        raise JobDeadLetteredError(self.id, outcome.failure)

    async def retry(self) -> None:
        """Run a dead-lettered job again, in the same history, with its attempts reset."""
        await self._dead_letter_update("retry")

    async def forget(self) -> None:
        """Drop a dead-lettered job: it closes and leaves the dead-letter queue."""
        await self._dead_letter_update("forget")

    async def _dead_letter_update(self, name: str) -> None:
        try:
            handle = self.client.get_workflow_handle(self.id)
            await execute_update(handle, name, result_type=type(None))
        except WorkflowUpdateFailedError as error:
            raise NotDeadLetteredError(f"Job {self.id}: {error.cause}") from None
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise NotDeadLetteredError(
                    f"Job {self.id} is not in the dead-letter queue (it does not exist or has "
                    "closed)."
                ) from None
            raise

    def status_sync(self) -> JobState | str:
        """Blocking ``status()``."""
        return run_sync(self.status())

    def result_sync(self, timeout: float | None = None) -> Any:
        """Blocking ``result()``; ``timeout`` in seconds."""
        return run_sync(self.result(), timeout)


CARRIER_PREFIX = "coalesced-"
"""Workflow ids of coalesced dispatches' carrier batches start with this."""
_COALESCED_JOB_ID = re.compile(rf"^({CARRIER_PREFIX}[0-9a-f]+)-c\d+:\d+$")


def job_handle(job_id: str, client: Client) -> JobHandle:
    """The handle of a job by its id: a coalesced job's id also names its carrier."""
    coalesced = _COALESCED_JOB_ID.match(job_id)
    if coalesced:
        return CoalescedJobHandle(id=job_id, client=client, batch_id=coalesced.group(1))
    return JobHandle(id=job_id, client=client)


@dataclass(frozen=True)
class CoalescedJobHandle(JobHandle):
    """A job sent with ``.coalesce()``: it runs inside carrier batch ``batch_id``.

    It has a workflow of its own (under ``id``) only once it is dead-lettered, so every method
    asks that workflow first and otherwise answers from the carrier.
    """

    batch_id: str = ""

    async def status(self) -> JobState | str:
        """queued until the carrier closed, then succeeded; or the dead-lettered job's state.

        Read from the server's descriptions, as ``JobHandle.status()``: no worker needed.
        """
        # The carrier first: a job dead-lettered after this read is still found below.
        try:
            carrier = await self.client.get_workflow_handle(self.batch_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(self.id) from None
            raise
        try:
            return await super().status()
        except JobNotFoundError:
            pass
        if carrier.typed_search_attributes.get(JOB_STATUS) == "cancelled":
            return "cancelled"
        closed = carrier.status == WorkflowExecutionStatus.COMPLETED
        return JobState.SUCCEEDED if closed else JobState.QUEUED

    async def outcome(self) -> JobOutcome:
        """Wait for the carrier to finish; a dead-lettered job answers from its own workflow."""
        batch = await BatchHandle(id=self.batch_id, client=self.client).wait()
        try:
            return await super().outcome()
        except JobNotFoundError:
            pass
        if batch.cancelled:
            raise JobExpiredError(
                f"Job {self.id}: its carrier batch {self.batch_id} was cancelled, so it may not "
                "have run."
            )
        return JobOutcome(state=JobState.SUCCEEDED)
