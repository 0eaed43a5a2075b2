"""``BatchHandle`` and ``ChainHandle``: follow, extend, cancel and retry a dispatched batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import JobBatch, JobModuleError
from client.sync import run_sync
from client.updates import execute_update
from workflows import AddPageInput, ChainResult
from workflows.batch_models import HANDING_OVER

PROGRESS_REFRESH_SECONDS = 0.5
HANDOVER_BACKOFF_SECONDS = 0.05
"""Pause before asking a batch again that was closing for continue-as-new."""


class BatchNotFoundError(JobModuleError, LookupError):
    """No batch with that id."""


class BatchClosedError(JobModuleError):
    """The batch has finished or was cancelled, so it takes no more jobs."""


class BatchStateError(JobModuleError):
    """The batch cannot do that now (e.g. retry_failed before it finished)."""


class _HandingOver(Exception):
    """The batch's run is closing for continue-as-new; the next run answers."""


@dataclass(frozen=True)
class BatchHandle:
    """A dispatched batch. ``id`` is its workflow id."""

    id: str
    client: Client

    async def status(self) -> JobBatch:
        """The batch's counters now (Laravel's ``Bus::findBatch``)."""
        handle = self.client.get_workflow_handle(self.id)
        try:
            return await handle.query("status", result_type=JobBatch)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise BatchNotFoundError(f"No batch with id {self.id!r}") from None
            raise

    async def add(self, jobs: Iterable[Any]) -> JobBatch:
        """Add jobs to a running batch; raises BatchClosedError once it finished or cancelled."""
        from client.bus import pages_of, spread_group_size

        batch: JobBatch | None = None
        for number, (page, last) in enumerate(pages_of(jobs, queue=None, page_size=1000)):
            request = AddPageInput(
                page_id=_page_id(),
                items=page,
                group_size=spread_group_size(page, whole=number == 0 and last),
            )
            batch = await self._update("add_page", request)
        return batch if batch is not None else await self.status()

    async def cancel(self) -> JobBatch:
        """Cancel: jobs that have not started never start. No effect on a finished batch."""
        try:
            return await self._update("cancel")
        except BatchClosedError:
            return await self.status()

    async def retry_failed(self) -> JobBatch:
        """Run the failed jobs of a finished batch again (Laravel's ``queue:retry-batch``)."""
        return await self._update("retry_failed", error=BatchStateError)

    async def wait(self, *, progress: bool = False) -> JobBatch:
        """Wait until the batch finished and its callbacks ran; optionally draw a progress bar."""
        if progress:
            from client.progress import follow_batch

            return await follow_batch(self)
        while True:
            try:
                batch = await self._update("wait_finished")
            except _HandingOver:
                await asyncio.sleep(HANDOVER_BACKOFF_SECONDS)
                continue
            except BatchClosedError:
                handle = self.client.get_workflow_handle(self.id, result_type=JobBatch)
                result: JobBatch = await handle.result()
                return result
            if batch.finished:
                return batch
            # Released by a run handing over to its continue-as-new: ask the next run.

    async def _update(
        self, name: str, arg: Any = None, *, error: type[JobModuleError] = BatchClosedError
    ) -> JobBatch:
        handle = self.client.get_workflow_handle(self.id)
        args = [] if arg is None else [arg]
        try:
            return await execute_update(handle, name, args=args, result_type=JobBatch)
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if isinstance(cause, ApplicationError) and cause.type == HANDING_OVER:
                raise _HandingOver() from None
            raise error(f"Batch {self.id}: {cause}") from None
        except RPCError as rpc_error:
            if rpc_error.status != RPCStatusCode.NOT_FOUND:
                raise
        try:
            await handle.describe()
        except RPCError as rpc_error:
            if rpc_error.status == RPCStatusCode.NOT_FOUND:
                raise BatchNotFoundError(f"No batch with id {self.id!r}") from None
            raise
        raise error(f"Batch {self.id}: cannot {name.replace('_', ' ')}: the batch has finished")

    def status_sync(self) -> JobBatch:
        """Blocking ``status()``."""
        return run_sync(self.status())

    def wait_sync(self, timeout: float | None = None) -> JobBatch:
        """Blocking ``wait()``."""
        return run_sync(self.wait(), timeout)


@dataclass(frozen=True)
class ChainHandle:
    """A dispatched chain."""

    id: str
    client: Client

    async def result(self) -> ChainResult:
        """How the chain ended: every step done, or where it stopped and why."""
        handle = self.client.get_workflow_handle(self.id, result_type=ChainResult)
        result: ChainResult = await handle.result()
        return result


def _page_id() -> str:
    import uuid

    return uuid.uuid4().hex
