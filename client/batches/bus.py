"""``Bus``: Laravel's ``Bus::batch()`` and ``Bus::chain()``.

``Bus.batch()`` takes any iterable, a generator of a million jobs included: it is read once, in
pages (``jobmodule.batches.pages``), so neither client memory nor any single payload grows with
the batch. A plain list is type-checked whole before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from jobmodule.activities import Job, JobBatch, JobSpec, ids
from jobmodule.batches.handle import BatchHandle, ChainHandle
from jobmodule.batches.pages import (
    check_items,
    first_queue,
    pages_of,
    spec_of,
    spread_group_size,
)
from jobmodule.batches.start import cancelled_while_streaming, send_pages, start_batch
from jobmodule.connection import UsesClient, get_default_client, with_search_attributes
from jobmodule.workflows import BatchInput, BatchOptions, ChainInput, ChainWorkflow
from jobmodule.workflows.job_start import CHAIN_JOBS_MEMO, chain_search_attributes


def _callback(job: Job | None, role: str, queue: str | None) -> JobSpec | None:
    if job is None:
        return None
    if not isinstance(job, Job):
        raise TypeError(f"the {role} callback must be a Job instance, not {type(job).__name__}")
    return spec_of(job, queue)


class _PendingGroup(UsesClient):
    """What batches and chains share: a catch callback, a queue, a client."""

    def __init__(self) -> None:
        self._catch: Job | None = None
        self._queue: str | None = None

    def catch(self, job: Job) -> Self:
        """Run ``job`` once, on the first job that fails for good."""
        self._catch = job
        return self

    def on_queue(self, queue: str) -> Self:
        """Run the workflows and every job on this queue."""
        self._queue = queue
        return self


class PendingBatch(_PendingGroup):
    """A batch being described; ``await batch.dispatch()`` sends it."""

    def __init__(self, jobs: Iterable[Any]) -> None:
        super().__init__()
        if isinstance(jobs, Sequence):
            check_items(jobs)
        self._jobs = jobs
        self._then: Job | None = None
        self._finally: Job | None = None
        self._name = ""
        self._allow_failures = False
        self._tuning: dict[str, Any] = {}

    def then(self, job: Job) -> Self:
        """Run ``job`` once, if every job of the batch succeeded."""
        self._then = job
        return self

    def finally_(self, job: Job) -> Self:
        """Run ``job`` once, when the batch has finished, whatever the outcome."""
        self._finally = job
        return self

    def name(self, name: str) -> Self:
        """A name for the UI and the CLI."""
        self._name = name
        return self

    def allow_failures(self, allow: bool = True) -> Self:
        """Keep going after a job fails, instead of cancelling the batch."""
        self._allow_failures = allow
        return self

    def tune(self, **options: Any) -> Self:
        """Advanced: BatchOptions knobs (chunk_size, group_size, history_limit, ...)."""
        if "group_size" in options:
            # A size chosen by hand wins over cutting a small page into SPREAD_OVER tasks.
            self._tuning.setdefault("spread_small_pages", False)
        self._tuning.update(options)
        return self

    async def dispatch(self) -> BatchHandle:
        """Validate the callbacks, start the batch, stream its jobs in pages, return a handle."""
        queue, entries = (self._queue, self._jobs)
        if queue is None:
            queue, entries = first_queue(self._jobs)
        options = BatchOptions(
            name=self._name,
            allow_failures=self._allow_failures,
            then=_callback(self._then, "then", self._queue),
            catch=_callback(self._catch, "catch", self._queue),
            finally_=_callback(self._finally, "finally", self._queue),
            queue=queue or "default",
            jobs_on_batch_queue=self._queue is not None,
            **self._tuning,
        )
        client = await self.client()
        batch_id = ids.new_batch_id()
        pages = pages_of(entries, queue=self._queue, page_size=options.chunk_size)
        first_page, sealed = next(pages)
        await start_batch(
            client,
            BatchInput(
                batch_id=batch_id,
                options=options,
                created_at=datetime.now(UTC),
                first_page=first_page,
                sealed=sealed,
                first_page_group_size=spread_group_size(first_page, sealed),
            ),
            summary=f"batch {self._name or batch_id}",
        )
        handle = BatchHandle(id=batch_id, client=client)
        try:
            await send_pages(client.get_workflow_handle(batch_id), pages)
        except TypeError:
            await handle.cancel()  # a bad entry deep in a generator: stop what was sent
            raise
        except (WorkflowUpdateFailedError, RPCError) as error:
            if not cancelled_while_streaming(error):
                raise
            # Its first failure (or a cancel()) came before all its pages were in: the jobs not
            # sent yet never start, as jobs of a cancelled batch never do. The handle says so.
        return handle


class PendingChain(_PendingGroup):
    """A chain being described; ``await chain.dispatch()`` sends it."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        super().__init__()
        for index, job in enumerate(jobs):
            if not isinstance(job, Job):
                raise TypeError(f"chain item {index} is {type(job).__name__}, not a Job")
        if not jobs:
            raise ValueError("a chain needs at least one job")
        self._jobs = list(jobs)

    async def dispatch(self) -> ChainHandle:
        """Start the chain."""
        specs = [spec_of(job, self._queue) for job in self._jobs]
        chain_id = ids.new_chain_id()
        client = await self.client()
        queue = self._queue or specs[0].policy.queue
        chain = ChainInput(
            chain_id=chain_id, jobs=specs, catch=_callback(self._catch, "catch", self._queue)
        )
        await with_search_attributes(
            client,
            lambda: client.start_workflow(
                ChainWorkflow.run,
                chain,
                id=chain_id,
                task_queue=queue,
                search_attributes=chain_search_attributes(queue),
                memo={CHAIN_JOBS_MEMO: len(specs)},
                static_summary=" -> ".join(ids.short_name(spec.job) for spec in specs)[:200],
            ),
        )
        return ChainHandle(id=chain_id, client=client)


class Bus:
    """Laravel's ``Bus`` facade."""

    @staticmethod
    def batch(jobs: Iterable[Any]) -> PendingBatch:
        """Describe a batch of jobs (and chains, as nested lists)."""
        return PendingBatch(jobs)

    @staticmethod
    def chain(jobs: Sequence[Job]) -> PendingChain:
        """Describe a chain: jobs that run in order, stopping at the first failure."""
        return PendingChain(jobs)

    @staticmethod
    async def find_batch(batch_id: str) -> JobBatch:
        """The JobBatch of a batch by id, through the default client (Laravel's ``findBatch``).

        With another client: ``await BatchHandle(id=batch_id, client=client).status()``.
        """
        return await BatchHandle(id=batch_id, client=await get_default_client()).status()
