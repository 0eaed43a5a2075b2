"""``JobHandle``: what ``dispatch()`` returns, to follow one job by its id."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError
from temporalio.service import RPCError

from jobmodule.activities import ids
from jobmodule.batches.handle import BatchHandle
from jobmodule.errors import (
    JobCancelledError,
    JobDeadLetteredError,
    JobExpiredError,
    JobForgottenError,
    JobNotFoundError,
    JobTerminatedError,
    NotDeadLetteredError,
)
from jobmodule.rpc import execute_update, is_not_found, not_found
from jobmodule.sync import run_sync
from jobmodule.workflows import JOB_STATUS, JobOutcome, JobState, JobWorkflow
from jobmodule.workflows.job import DEAD_LETTER_EXPIRED

UNKNOWN_START = datetime.min.replace(tzinfo=UTC)
"""Sentinel: the handle was built from an id, so the start delay must be looked up."""

CLOSED_STATES = {
    WorkflowExecutionStatus.FAILED: JobState.EXPIRED,
    WorkflowExecutionStatus.CANCELED: JobState.CANCELLED,
    WorkflowExecutionStatus.TERMINATED: JobState.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT: JobState.TERMINATED,
}
"""How a JobWorkflow that closed without settling reads: only the retention's end fails it."""


def state_from_description(description: WorkflowExecutionDescription) -> JobState:
    """A JobWorkflow's state from its description: the search attribute says where the
    workflow is, the pending activity says whether an attempt is running or waiting."""
    recorded = description.typed_search_attributes.get(JOB_STATUS)
    if description.status == WorkflowExecutionStatus.COMPLETED:
        return JobState(recorded) if recorded else JobState.SUCCEEDED
    if description.status != WorkflowExecutionStatus.RUNNING:
        closed = description.status
        return CLOSED_STATES.get(closed, JobState.TERMINATED) if closed else JobState.TERMINATED
    if recorded == JobState.DEAD_LETTERED:
        return JobState.DEAD_LETTERED
    activity = running_attempt(description)
    if activity is None:
        return JobState(recorded) if recorded else JobState.QUEUED
    if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
        return JobState.RUNNING
    if activity.attempt > 1:
        return JobState.RETRYING
    return JobState.QUEUED if recorded != JobState.RETRYING else JobState.RETRYING


def running_attempt(description: WorkflowExecutionDescription) -> PendingActivityInfo | None:
    """The job's pending ``run_job`` activity, if an attempt is scheduled or running."""
    for activity in description.raw_description.pending_activities:
        if activity.activity_type.name == "run_job":
            return activity
    return None


@dataclass(frozen=True)
class JobHandle:
    """A dispatched job. ``id`` is its workflow id, shown in the Web UI and the CLI."""

    id: str
    client: Client
    job: str | None = None
    not_before: datetime | None = UNKNOWN_START
    """When a delayed job may start; None when it was not delayed, UNKNOWN_START if unknown."""

    async def status(self) -> JobState:
        """queued, running, retrying, succeeded, dead_lettered, forgotten, expired, cancelled
        or terminated.

        Read from the server's description (no worker needed): the search attribute says where
        the workflow is, the pending activity says whether an attempt is running or waiting.
        """
        return state_from_description(await self._describe())

    async def _describe(self) -> WorkflowExecutionDescription:
        with not_found(lambda: JobNotFoundError(self.id)):
            return await self.client.get_workflow_handle(self.id).describe()

    async def outcome(self) -> JobOutcome:
        """Wait until the job succeeded, was dead-lettered or forgotten, and return how."""
        handle = self.client.get_workflow_handle(self.id, result_type=JobOutcome)
        await self._wait_for_start_delay()
        try:
            return await execute_update(handle, JobWorkflow.wait_settled, result_type=JobOutcome)
        except RPCError as error:
            if not is_not_found(error):
                raise
        # The run has closed already (or never existed): its result is the outcome.
        try:
            with not_found(lambda: JobNotFoundError(self.id)):
                return await handle.result()
        except WorkflowFailureError as error:
            raise self._closed_error(error) from None

    def _closed_error(self, error: WorkflowFailureError) -> Exception:
        """Why a job's workflow closed without an outcome, as our error."""
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == DEAD_LETTER_EXPIRED:
            return JobExpiredError(f"Job {self.id}: {cause.message}")
        if isinstance(cause, CancelledError):
            return JobCancelledError(f"Job {self.id} was cancelled before it settled.")
        if isinstance(cause, TerminatedError):
            return JobTerminatedError(f"Job {self.id} was terminated: {cause.message}")
        return JobTerminatedError(f"Job {self.id} closed without an outcome: {cause}")

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
        await self._dead_letter_update(JobWorkflow.retry)

    async def forget(self) -> None:
        """Drop a dead-lettered job: it closes and leaves the dead-letter queue."""
        await self._dead_letter_update(JobWorkflow.forget)

    async def _dead_letter_update(self, update: Any) -> None:
        missing = NotDeadLetteredError(
            f"Job {self.id} is not in the dead-letter queue (it does not exist or has closed)."
        )
        try:
            with not_found(lambda: missing):
                handle = self.client.get_workflow_handle(self.id)
                await execute_update(handle, update, result_type=type(None))
        except WorkflowUpdateFailedError as error:
            raise NotDeadLetteredError(f"Job {self.id}: {error.cause}") from None

    def status_sync(self) -> JobState:
        """Blocking ``status()``."""
        return run_sync(self.status())

    def result_sync(self, timeout: float | None = None) -> Any:
        """Blocking ``result()``; ``timeout`` in seconds."""
        return run_sync(self.result(), timeout)


def job_handle(job_id: str, client: Client) -> JobHandle:
    """The handle of a job by its id: a coalesced job's id also names its carrier."""
    carrier = ids.carrier_of(job_id)
    if carrier is not None:
        return CoalescedJobHandle(id=job_id, client=client, batch_id=carrier)
    return JobHandle(id=job_id, client=client)


@dataclass(frozen=True)
class CoalescedJobHandle(JobHandle):
    """A job sent with ``.coalesce()``: it runs inside carrier batch ``batch_id``.

    It has a workflow of its own (under ``id``) only once it is dead-lettered, so every method
    asks that workflow first and otherwise answers from the carrier.
    """

    batch_id: str = ""

    async def status(self) -> JobState:
        """queued until the carrier closed, then succeeded; or the dead-lettered job's state.

        Read from the server's descriptions, as ``JobHandle.status()``: no worker needed.
        """
        # The carrier first: a job dead-lettered after this read is still found below.
        with not_found(lambda: JobNotFoundError(self.id)):
            carrier = await self.client.get_workflow_handle(self.batch_id).describe()
        try:
            return await super().status()
        except JobNotFoundError:
            pass
        if carrier.typed_search_attributes.get(JOB_STATUS) == JobState.CANCELLED:
            return JobState.CANCELLED
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
            raise JobCancelledError(
                f"Job {self.id}: its carrier batch {self.batch_id} was cancelled, so it may not "
                "have run."
            )
        return JobOutcome(state=JobState.SUCCEEDED)
