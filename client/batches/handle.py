"""``BatchHandle`` and ``ChainHandle``: follow, extend, cancel and retry a dispatched batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from jobmodule.activities import JobBatch, JobModuleError, ids
from jobmodule.batch_operations import signal_each
from jobmodule.batches.pages import pages_of, spread_group_size
from jobmodule.batches.progress import follow_batch
from jobmodule.errors import BatchClosedError, BatchNotFoundError, BatchStateError
from jobmodule.rpc import execute_update, is_not_found, not_found
from jobmodule.sync import run_sync
from jobmodule.visibility import dead_letter_query
from jobmodule.workflows import AddPageInput, BatchWorkflow, ChainResult
from jobmodule.workflows.batch_models import HANDING_OVER
from jobmodule.workflows.job import DLQ_RETRY_SIGNAL

HANDOVER_BACKOFF_SECONDS = 0.05
"""Pause before asking a batch again that was closing for continue-as-new."""


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
        with not_found(self._not_found):
            return await handle.query(BatchWorkflow.status)

    async def add(self, jobs: Iterable[Any]) -> JobBatch:
        """Add jobs to a running batch; raises BatchClosedError once it finished or cancelled."""
        batch: JobBatch | None = None
        for number, (page, last) in enumerate(pages_of(jobs, queue=None)):
            request = AddPageInput(
                page_id=ids.new_page_id(),
                items=page,
                group_size=spread_group_size(page, whole=number == 0 and last),
            )
            batch = await self._update(BatchWorkflow.add_page, request)
        return batch if batch is not None else await self.status()

    async def cancel(self) -> JobBatch:
        """Cancel: jobs that have not started never start. No effect on a finished batch."""
        try:
            return await self._update(BatchWorkflow.cancel)
        except BatchClosedError:
            return await self.status()

    async def retry_failed(self) -> JobBatch:
        """Run the failed jobs of a batch again (Laravel's ``queue:retry-batch``).

        They wait in the dead-letter queue, so one batch operation retries them, whatever the
        namespace's retention; each that succeeds counts as processed in the batch. A batch
        from before failed jobs were parked reruns them from its chunks' histories instead.
        """
        query = dead_letter_query(batch_id=self.id)
        if not (await self.client.count_workflows(query)).count:
            return await self._update(BatchWorkflow.retry_failed, error=BatchStateError)
        parked = [row.id async for row in self.client.list_workflows(query)]
        listed = (await self.status()).failed_job_ids
        batch = await self._update(BatchWorkflow.retry_parked, error=BatchStateError)
        # By id where the batch lists them (visibility may lag a moment behind a new parking),
        # by query for the rest (beyond the ids a batch keeps).
        await signal_each(self.client, sorted(set(listed) | set(parked)), DLQ_RETRY_SIGNAL)
        return batch

    async def wait(self, *, progress: bool = False) -> JobBatch:
        """Wait until the batch finished and its callbacks ran; optionally draw a progress bar."""
        if progress:
            return await follow_batch(self.status, self.wait())
        while True:
            try:
                batch = await self._update(BatchWorkflow.wait_finished)
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
        self,
        update: Any,
        arg: Any = None,
        *,
        error: type[JobModuleError] = BatchClosedError,
    ) -> JobBatch:
        handle = self.client.get_workflow_handle(self.id)
        args = [] if arg is None else [arg]
        try:
            return await execute_update(handle, update, args=args, result_type=JobBatch)
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if isinstance(cause, ApplicationError) and cause.type == HANDING_OVER:
                raise _HandingOver() from None
            raise error(f"Batch {self.id}: {cause}") from None
        except RPCError as rpc_error:
            if not is_not_found(rpc_error):
                raise
        with not_found(self._not_found):
            await handle.describe()
        action = str(update.__name__).replace("_", " ")
        raise error(f"Batch {self.id}: cannot {action}: the batch has finished")

    def _not_found(self) -> BatchNotFoundError:
        return BatchNotFoundError(f"No batch with id {self.id!r}")

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
