"""``BatchWorkflow``: Laravel's ``Bus::batch()`` with then/catch/finally, progress, add and cancel.

Jobs arrive in pages (the start input, then ``add_page`` updates) and each page becomes chunk
child workflows of up to 1,000 jobs. The batch keeps only counters and chunk ids, never the
payloads, so it can continue-as-new with a small input. Chunks are started with
ParentClosePolicy.ABANDON (a continue-as-new closes the run that started them) and report
through signals addressed to the batch id, which reach whichever run is current.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import BatchItem, JobBatch, ids
    from jobmodule.activities.ids import Callback
    from jobmodule.workflows import batch_counters as counters
    from jobmodule.workflows import search_attributes as sa
    from jobmodule.workflows.batch_callbacks import callback_spec, run_callback
    from jobmodule.workflows.batch_models import (
        BATCH_CLOSED,
        CHUNK_PROGRESS_SIGNAL,
        COUNTERS_MEMO,
        COUNTERS_MEMO_PATCH,
        EXTERNAL_NOT_FOUND,
        HANDING_OVER,
        RELEASE_WAITERS_PATCH,
        AddPageInput,
        BatchInput,
        BatchState,
        ChunkInput,
        ChunkReport,
        counters_memo,
    )
    from jobmodule.workflows.chunk import BatchChunkWorkflow
    from jobmodule.workflows.job import JOB_FAILED_AGAIN_SIGNAL, JOB_RECOVERED_SIGNAL
    from jobmodule.workflows.states import JobState

FAILED_AT_PATCH = "batch-failed-at"
"""Runs that recorded this marker set ``FailedAt`` when their first job fails for good."""
RECOVERY_THEN_PATCH = "then-after-every-failure-recovered"
"""Runs that recorded this marker run ``then`` once every parked job of theirs was retried."""


@workflow.defn(name="BatchWorkflow")
class BatchWorkflow:
    """One batch: fans chunks out, counts what they report, runs the callbacks exactly once."""

    @workflow.init
    def __init__(self, input: BatchInput) -> None:
        self._input = input
        self._options = input.options
        self._state = input.state or BatchState(
            batch=JobBatch(
                id=input.batch_id,
                name=input.options.name,
                created_at=input.created_at,
                allow_failures=input.options.allow_failures,
            )
        )
        if input.sealed:
            self._state.batch.sealed = True
        self._retry_requested = False
        self._every_failure_retried = False
        """Set by the last ``job_recovered``: the batch has no failures left."""
        self._running_callback: Callback | None = None
        self._adding = 1 if input.first_page else 0
        """Pages being turned into chunks; the first page counts from the start."""
        self._cancellations: list[asyncio.Task[None]] = []
        self._handing_over = False
        """This run waits for its handlers to finish, then continues as new."""

    @property
    def _batch(self) -> JobBatch:
        return self._state.batch

    @workflow.run
    async def run(self, input: BatchInput) -> JobBatch:
        if input.first_page:
            try:
                await self._add_items(input.first_page, input.first_page_group_size)
            finally:
                self._adding -= 1
        while True:
            await self._run_until_finished()
            if not self._batch.failed_job_ids:
                break
            if self._options.dead_letter_retention_days is not None:
                break  # its failed jobs wait in the dead-letter queue, each retried on its own
            # Failed jobs stay retryable (Laravel's queue:retry-batch) until the retention ends;
            # meanwhile the batch counts the parked ones whose retry succeeded.
            if self._state.open_until is None:
                self._state.open_until = workflow.now() + timedelta(
                    days=self._options.retention_days
                )
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._retry_requested
                        or self._every_failure_retried
                        or self._continue_as_new_due()
                    ),
                    timeout=max(self._state.open_until - workflow.now(), timedelta(seconds=1)),
                )
            except TimeoutError:
                break
            if self._every_failure_retried and not self._retry_requested:
                await self._every_failure_recovered()
                break
            if not self._retry_requested:
                await self._continue_as_new_while_open()
            self._retry_requested = False
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._batch

    async def _every_failure_recovered(self) -> None:
        """The last parked job's retry succeeded: the batch has no failures, so ``then`` runs."""
        if workflow.patched(RECOVERY_THEN_PATCH) and not self._batch.cancelled:
            if not self._state.then_ran:
                await self._run_callback("then")

    async def _continue_as_new_while_open(self) -> None:
        """A batch waiting out its retention hands its counters to a new run, history short."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._continue_as_new()

    def _continue_as_new(self) -> None:
        """Hand the counters, open chunks and callbacks run to a new run (a short history)."""
        self._state.runs += 1
        workflow.continue_as_new(
            BatchInput(
                batch_id=self._input.batch_id,
                options=self._options,
                created_at=self._input.created_at,
                state=self._state,
            )
        )

    async def _run_until_finished(self) -> None:
        """Wait for the jobs, running catch on the first failure; then then/finally once."""
        while True:
            await workflow.wait_condition(
                lambda: self._catch_due() or self._all_done() or self._continue_as_new_due()
            )
            if self._catch_due():
                await self._run_callback("catch")
                continue
            if self._all_done():
                break
            # A wait() in flight only ends when the batch does, so waiting for it here would
            # hold the batch forever: release it (its caller asks the next run) and turn new
            # ones away until this run has closed.
            self._handing_over = workflow.patched(RELEASE_WAITERS_PATCH)
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._cancellations_delivered()
            if self._continue_as_new_due() and not self._all_done():
                self._continue_as_new()
            self._handing_over = False  # everything finished meanwhile: no hand-over
        # A cancel request is only delivered while this run is open: see them through first.
        await self._cancellations_delivered()
        if not self._batch.finished:  # a run continued as new while open keeps the first time
            self._batch.finished = True
            self._batch.finished_at = workflow.now()
        if not self._batch.cancelled and self._batch.failed_jobs == 0 and not self._state.then_ran:
            await self._run_callback("then")
        if not self._state.finally_ran:
            await self._run_callback("finally")
        if workflow.patched(COUNTERS_MEMO_PATCH):
            # A finished batch with failures stays open for retry_failed(): its counters must
            # read without a worker (monitoring). One memo write per finish, not per job.
            workflow.upsert_memo({COUNTERS_MEMO: counters_memo(self._batch)})

    async def _cancellations_delivered(self) -> None:
        pending, self._cancellations = self._cancellations, []
        for cancellation in pending:
            try:
                await cancellation
            except ApplicationError as error:
                if error.type == EXTERNAL_NOT_FOUND:
                    continue  # the chunk had closed already: nothing to cancel
                workflow.logger.warning("a chunk's cancel was not delivered: %s", error)

    def _catch_due(self) -> bool:
        return self._state.first_failure is not None and not self._state.catch_ran

    def _all_done(self) -> bool:
        if self._batch.cancelled:
            return True
        return (
            self._batch.sealed
            and not self._state.open_chunks
            and not self._adding
            and self._state.retrying == 0
        )

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._options.history_limit
        )

    # -- jobs in ---------------------------------------------------------------------------------

    async def _add_items(self, items: list[BatchItem], group_size: int | None = None) -> None:
        """Start chunk children for ``items``; never more than the window open at once."""
        size = self._options.chunk_size
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            await workflow.wait_condition(
                lambda: (
                    len(self._state.open_chunks) < self._options.max_chunks_in_flight
                    or self._batch.cancelled
                )
            )
            if self._batch.cancelled:
                return
            jobs = sum(len(item.jobs) for item in chunk)
            self._state.chunks_started += 1
            chunk_id = ids.chunk_id(self._input.batch_id, self._state.chunks_started)
            self._state.open_chunks[chunk_id] = jobs
            self._batch.total_jobs += jobs
            self._batch.pending_jobs += jobs
            await self._start_chunk(ChunkInput(
                batch_id=self._input.batch_id,
                chunk_id=chunk_id,
                options=self._options,
                batch=self._batch.model_copy(),
                items=chunk,
                group_size=group_size,
            ))  # fmt: skip

    async def _start_chunk(self, chunk: ChunkInput) -> None:
        await workflow.start_child_workflow(
            BatchChunkWorkflow.run,
            chunk,
            id=chunk.chunk_id,
            task_queue=self._options.queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
            search_attributes=workflow.info().typed_search_attributes,
            static_summary=f"chunk of {self._batch.name or self._input.batch_id}",
        )

    @workflow.update(name="add_page")
    async def add_page(self, page: AddPageInput) -> JobBatch:
        """Add a page of jobs (``dispatch`` streaming, or ``batch.add()``)."""
        if page.page_id not in self._state.seen_page_ids:
            self._state.seen_page_ids.append(page.page_id)
            self._adding += 1
            try:
                await self._add_items(self._on_batch_queue(page.items), page.group_size)
            finally:
                self._adding -= 1
        if page.seal:
            self._batch.sealed = True
        return self._batch

    def _on_batch_queue(self, items: list[BatchItem]) -> list[BatchItem]:
        """Pages of ``add()`` through a bare handle, put on the batch's ``on_queue()`` queue.

        ``dispatch()`` already put its pages there, so those pass through uncopied.
        """
        if not self._options.jobs_on_batch_queue:
            return items
        queue = self._options.queue
        if all(spec.policy.queue == queue for item in items for spec in item.jobs):
            return items
        return [
            BatchItem(
                jobs=[
                    spec.model_copy(
                        update={"policy": spec.policy.model_copy(update={"queue": queue})}
                    )
                    for spec in item.jobs
                ]
            )
            for item in items
        ]

    @add_page.validator
    def _validate_add_page(self, page: AddPageInput) -> None:
        if page.page_id in self._state.seen_page_ids:
            return  # a re-sent page is acknowledged, not added twice
        if self._batch.cancelled:
            raise ApplicationError("cannot add jobs: the batch was cancelled", type=BATCH_CLOSED)
        if self._batch.finished or self._all_done():
            raise ApplicationError("cannot add jobs: the batch has finished", type=BATCH_CLOSED)

    # -- progress in -----------------------------------------------------------------------------

    @workflow.signal(name=CHUNK_PROGRESS_SIGNAL)
    def chunk_progress(self, report: ChunkReport) -> None:
        """Deltas from a chunk: successes, failures (ids), jobs that will never run."""
        if counters.count_report(self._state, report):
            assert report.first_failure is not None
            if workflow.patched(FAILED_AT_PATCH):  # notifications find failed batches by it
                workflow.upsert_search_attributes(
                    [sa.FAILED_AT.value_set(report.first_failure.failed_at)]
                )
            if not self._options.allow_failures:
                self._cancel()

    @workflow.signal(name=JOB_RECOVERED_SIGNAL)
    def job_recovered(self, job_id: str) -> None:
        """A parked job of this batch was retried and succeeded: it counts as processed now."""
        if counters.count_recovered(self._state, job_id):
            self._every_failure_retried = True

    @workflow.signal(name=JOB_FAILED_AGAIN_SIGNAL)
    def job_failed_again(self, job_id: str) -> None:
        """A parked job this batch was retrying failed again and is parked once more."""
        counters.count_failed_again(self._state, job_id)

    @workflow.update(name="retry_parked")
    async def retry_parked(self) -> JobBatch:
        """Count the batch's parked jobs as pending again: the client retries them (one batch
        operation), and the batch finishes again once each has succeeded or parked again."""
        counters.reopen_for_parked_retry(self._state)
        self._retry_requested = True
        return self._batch

    @retry_parked.validator
    def _validate_retry_parked(self) -> None:
        self._validate_retry_failed()

    # -- control -----------------------------------------------------------------------------

    @workflow.update(name="cancel")
    async def cancel(self) -> JobBatch:
        """Cancel: jobs that have not started never start. No effect on a finished batch."""
        if not self._batch.finished:
            self._cancel()
        return self._batch

    def _cancel(self) -> None:
        if self._batch.cancelled:
            return
        self._batch.cancelled = True
        self._batch.cancelled_at = workflow.now()
        workflow.upsert_search_attributes([sa.JOB_STATUS.value_set(JobState.CANCELLED.value)])
        for chunk_id in list(self._state.open_chunks):
            handle = workflow.get_external_workflow_handle(chunk_id)
            self._cancellations.append(asyncio.create_task(handle.cancel()))
        self._state.open_chunks.clear()

    @workflow.update(name="retry_failed")
    async def retry_failed(self) -> JobBatch:
        """Run the failed jobs of a finished batch again (Laravel's ``queue:retry-batch``)."""
        by_chunk = counters.reopen_for_retry(self._state)
        for number, (source, retries) in enumerate(by_chunk.items(), start=1):
            chunk_id = ids.retry_chunk_id(self._input.batch_id, self._state.retry_rounds, number)
            self._state.open_chunks[chunk_id] = len(retries)
            await self._start_chunk(ChunkInput(
                batch_id=self._input.batch_id,
                chunk_id=chunk_id,
                options=self._options,
                batch=self._batch.model_copy(),
                source_chunk_id=source,
                retries=retries,
            ))  # fmt: skip
        self._retry_requested = True
        if workflow.patched(COUNTERS_MEMO_PATCH):
            workflow.upsert_memo({COUNTERS_MEMO: counters_memo(self._batch)})  # open again
        return self._batch

    @retry_failed.validator
    def _validate_retry_failed(self) -> None:
        if not self._batch.finished:
            raise ApplicationError("the batch has not finished yet", type="BatchNotFinished")
        if not self._batch.failed_job_ids:
            raise ApplicationError("the batch has no failed jobs", type="NoFailedJobs")

    @workflow.update(name="wait_finished")
    async def wait_finished(self) -> JobBatch:
        """Block until the batch finished and its callbacks ran, or this run hands over.

        Released by a hand-over, it returns the batch unfinished and the caller asks again.
        """
        await workflow.wait_condition(
            lambda: (
                self._handing_over
                or (
                    self._batch.finished
                    and self._state.finally_ran
                    and self._running_callback is None
                    and not self._retry_requested
                )
            )
        )
        return self._batch

    @wait_finished.validator
    def _validate_wait_finished(self) -> None:
        if self._handing_over:
            raise ApplicationError("the batch is continuing as new; ask again", type=HANDING_OVER)

    @workflow.query(name="status")
    def status(self) -> JobBatch:
        """The batch's progress now."""
        return self._batch

    # -- callbacks ---------------------------------------------------------------------------------

    async def _run_callback(self, which: Callback) -> None:
        """Run a then/catch/finally job once, retried with its own policy if it fails."""
        setattr(self._state, f"{which}_ran", True)
        spec = callback_spec(self._options, which)
        if spec is None:
            return
        self._running_callback = which
        try:
            await run_callback(
                which,
                spec,
                batch=self._batch,
                batch_failure=self._state.first_failure if which == "catch" else None,
                retention_days=self._options.retention_days,
                title=self._batch.name or self._input.batch_id,
            )
        finally:
            self._running_callback = None
