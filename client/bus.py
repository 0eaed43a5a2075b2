"""``Bus``: Laravel's ``Bus::batch()`` and ``Bus::chain()``.

``Bus.batch()`` takes any iterable, a generator of a million jobs included: it is read once, in
pages of at most 1,000 jobs and about 1 MB, so neither client memory nor any single payload
grows with the batch. A plain list is type-checked whole before anything is sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import BatchItem, Job, JobBatch, JobSpec
from client.batch_handle import BatchHandle, ChainHandle
from client.connection import get_default_client
from client.dispatch import encode_payload_sized
from client.updates import execute_update
from workflows import (
    BATCH_ID,
    JOB_CLASS,
    JOB_QUEUE,
    AddPageInput,
    BatchInput,
    BatchOptions,
    BatchWorkflow,
    ChainInput,
    ChainWorkflow,
)
from workflows.batch_models import BATCH_CLOSED

PAGE_BYTES = 1024 * 1024
"""A page of jobs stays near 1 MB, half of Temporal's 2 MB payload limit."""


SPEC_OVERHEAD_BYTES = 200
"""Name and policy of a job spec, roughly, on top of its payload."""


def spec_of(job: Job, queue: str | None) -> JobSpec:
    """A job as data, with the batch's queue if it names one."""
    return sized_spec_of(job, queue)[0]


def sized_spec_of(job: Job, queue: str | None) -> tuple[JobSpec, int]:
    """``spec_of`` and its approximate encoded size in bytes."""
    policy = job.default_policy()
    if queue is not None:
        policy = policy.model_copy(update={"queue": queue})
    payload, size = encode_payload_sized(job)
    return JobSpec(job=job.job_name(), payload=payload, policy=policy), size + SPEC_OVERHEAD_BYTES


def item_of(entry: Any, index: int, queue: str | None) -> tuple[BatchItem, int]:
    """A batch entry and its size: a Job, or a list/tuple of Jobs (a chain). Else a TypeError."""
    if isinstance(entry, Job):
        spec, size = sized_spec_of(entry, queue)
        return BatchItem(jobs=[spec]), size
    if isinstance(entry, list | tuple) and entry and all(isinstance(j, Job) for j in entry):
        sized = [sized_spec_of(job, queue) for job in entry]
        return BatchItem(jobs=[spec for spec, _ in sized]), sum(size for _, size in sized)
    raise TypeError(
        f"batch item {index} is {type(entry).__name__}, not a Job or a list of Jobs (a chain)"
    )


def check_items(entries: Sequence[Any]) -> None:
    """Type-check a whole list up front, so a bad entry sends nothing."""
    for index, entry in enumerate(entries):
        if isinstance(entry, Job):
            continue
        if isinstance(entry, list | tuple) and entry and all(isinstance(j, Job) for j in entry):
            continue
        item_of(entry, index, None)


SPREAD_OVER = 16
"""Activity tasks a one-page dispatch or add() is split into at least (if it has the jobs).

Each task costs the dev server ~7 ms of CPU whatever its size (200 CSV jobs cut into 40, 100
and 200 tasks took 0.64, 1.13 and 1.81 s of server CPU): 16 tasks of 12-13 jobs imported
15-25% faster than 40 of 5 in alternating runs, and still feed 16 worker slots."""


def pages_of(
    entries: Iterable[Any], *, queue: str | None, page_size: int
) -> Iterator[tuple[list[BatchItem], bool]]:
    """Yield ``(page, is_last)``: pages of at most ``page_size`` jobs and about PAGE_BYTES."""
    page: list[BatchItem] = []
    jobs = size = 0
    pending: tuple[list[BatchItem], bool] | None = None
    for index, entry in enumerate(entries):
        item, item_size = item_of(entry, index, queue)
        if page and (jobs + len(item.jobs) > page_size or size + item_size > PAGE_BYTES):
            if pending is not None:
                yield pending
            pending = (page, False)
            page, jobs, size = [], 0, 0
        page.append(item)
        jobs += len(item.jobs)
        size += item_size
    if pending is not None:
        yield pending
    yield page, True


def spread_group_size(page: list[BatchItem], whole: bool) -> int | None:
    """Jobs per activity task for a page that is a whole dispatch or add(); None for the rest.

    Packing 100 jobs into one task is what makes a big batch of small jobs fast, but it puts a
    small batch of long jobs (200 CSV chunks, say) on one or two workers. A page that is all
    there is is cut into at least SPREAD_OVER tasks instead, so every worker process gets a
    share. The pages of a big dispatch keep full groups. Decided per page, so a batch started
    small and grown with add() still packs its big additions.
    """
    if not whole:
        return None
    jobs = sum(len(item.jobs) for item in page)
    return max(1, -(-jobs // SPREAD_OVER))


def first_queue(entries: Iterable[Any]) -> tuple[str | None, Iterable[Any]]:
    """The queue of the first job (the batch's default queue), without losing that job."""
    iterator = iter(entries)
    for first in iterator:
        job = first[0] if isinstance(first, list | tuple) and first else first
        queue = job.default_policy().queue if isinstance(job, Job) else None
        return queue, _chain_first(first, iterator)
    return None, ()


def _chain_first(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _callback(job: Job | None, role: str, queue: str | None) -> JobSpec | None:
    if job is None:
        return None
    if not isinstance(job, Job):
        raise TypeError(f"the {role} callback must be a Job instance, not {type(job).__name__}")
    return spec_of(job, queue)


async def start_batch(client: Client, batch: BatchInput, *, summary: str) -> None:
    """Start a batch's workflow, tagged so the Web UI and ``jobs`` can find it."""
    queue = batch.options.queue
    await client.start_workflow(
        BatchWorkflow.run,
        batch,
        id=batch.batch_id,
        task_queue=queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(BATCH_ID, batch.batch_id),
                SearchAttributePair(JOB_QUEUE, queue),
                SearchAttributePair(JOB_CLASS, "batch"),
            ]
        ),
        static_summary=summary,
    )


def cancelled_while_streaming(error: WorkflowUpdateFailedError | RPCError) -> bool:
    """Whether a refused page means the batch was cancelled (it cannot finish before sealed)."""
    if isinstance(error, WorkflowUpdateFailedError):
        cause = error.cause
        return isinstance(cause, ApplicationError) and cause.type == BATCH_CLOSED
    return error.status == RPCStatusCode.NOT_FOUND  # cancelled, and closed already


PAGES_IN_FLIGHT = 4
"""Pages sent before the first is acknowledged: hides the round trip, bounds client memory."""


async def send_pages(
    workflow: WorkflowHandle[Any, Any], pages: Iterator[tuple[list[BatchItem], bool]]
) -> None:
    """Stream pages as ``add_page`` updates, a few at a time; the sealing page goes last."""
    in_flight: set[asyncio.Task[Any]] = set()

    async def settle(until: int) -> None:
        nonlocal in_flight
        while len(in_flight) > until:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise a failed update

    def update(page: list[BatchItem], seal: bool) -> Any:
        request = AddPageInput(page_id=uuid.uuid4().hex, items=page, seal=seal)
        return execute_update(workflow, "add_page", args=[request], result_type=JobBatch)

    try:
        for page, last in pages:
            if last:
                await settle(0)  # every other page is in before the batch may finish
                await update(page, True)
                return
            in_flight.add(asyncio.ensure_future(update(page, False)))
            await settle(PAGES_IN_FLIGHT - 1)
    finally:
        for task in in_flight:
            task.cancel()


class _PendingGroup:
    """What batches and chains share: a catch callback, a queue, a client."""

    def __init__(self) -> None:
        self._catch: Job | None = None
        self._queue: str | None = None
        self._client: Client | None = None

    def catch(self, job: Job) -> Self:
        """Run ``job`` once, on the first job that fails for good."""
        self._catch = job
        return self

    def on_queue(self, queue: str) -> Self:
        """Run the workflows and every job on this queue."""
        self._queue = queue
        return self

    def using(self, client: Client) -> Self:
        """Dispatch through this client instead of the default one."""
        self._client = client
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
        client = self._client or await get_default_client()
        batch_id = f"batch-{uuid.uuid4().hex}"
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
        chain_id = f"chain-{uuid.uuid4().hex}"
        client = self._client or await get_default_client()
        queue = self._queue or specs[0].policy.queue
        await client.start_workflow(
            ChainWorkflow.run,
            ChainInput(
                chain_id=chain_id, jobs=specs, catch=_callback(self._catch, "catch", self._queue)
            ),
            id=chain_id,
            task_queue=queue,
            static_summary=" -> ".join(spec.job.rsplit(".", 1)[-1] for spec in specs)[:200],
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
    async def find_batch(batch_id: str, *, client: Client | None = None) -> Any:
        """The JobBatch of a batch by id."""
        return await BatchHandle(id=batch_id, client=client or await get_default_client()).status()
