"""``BatchChunkWorkflow``: up to 1,000 jobs of a batch, run in groups, reported to the batch.

First attempts run many to an activity (``run_job_group``); a job whose first attempt fails is
retried on its own with its remaining tries and its backoff. Chains run step by step. Progress
goes to the batch as signals (deltas), at most about once a second, and at once on a failure,
so the batch can run ``catch`` and cancel without waiting for the chunk to end. In a coalesced
dispatch's carrier, a job that fails for good is also handed to a parked ``JobWorkflow`` of its
own: the dead-letter queue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ActivityCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import (
        GroupedJob,
        JobAttemptOutcome,
        JobFailure,
        JobGroupInput,
        JobPolicy,
        JobSpec,
        LoadChunkItemsInput,
        PermitGrant,
        RunJobInput,
        load_chunk_items,
        run_job,
        run_job_group,
    )
    from jobmodule.activities.flow import has_limits
    from jobmodule.activities.ids import batch_job_id, chain_step_id, short_name
    from jobmodule.activities.limits import PERMIT_GRANTED_SIGNAL
    from jobmodule.workflows.activity_options import activity_options, task_priority
    from jobmodule.workflows.attempts import is_stepwise, run_stepwise
    from jobmodule.workflows.batch_models import CHUNK_PROGRESS_SIGNAL, ChunkInput, ChunkReport
    from jobmodule.workflows.failures import failure_from
    from jobmodule.workflows.job import STEPWISE_PATCH, JobWorkflow
    from jobmodule.workflows.job_models import JobInput
    from jobmodule.workflows.job_start import job_start
    from jobmodule.workflows.permits import PermitHolder

GROUP_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
GROUP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=10)
REPORT_EVERY = timedelta(seconds=1)
LOAD_TIMEOUT = timedelta(minutes=2)


@dataclass
class Entry:
    """A job or chain of this chunk, with the id its jobs report under."""

    key: str
    jobs: list[JobSpec]
    chain: bool
    chain_offset: int = 0
    """For a chain resumed by retry_failed: the step it resumes at."""

    def job_id(self, step: int = 0) -> str:
        """``chunk:index`` for a job, ``chunk:index.step`` for a chain's step."""
        return chain_step_id(self.key, self.chain_offset + step) if self.chain else self.key


def _limited(entry: Entry) -> bool:
    return not entry.chain and has_limits(entry.jobs[0].policy)


def _priority_fields(policy: JobPolicy) -> tuple[object, ...]:
    return (policy.priority, policy.fairness_key, policy.fairness_weight)


@workflow.defn(name="BatchChunkWorkflow")
class BatchChunkWorkflow:
    """Runs one chunk of a batch and signals its progress to the batch workflow."""

    def __init__(self) -> None:
        self._pending = ChunkReport(chunk_id="")
        self._totals = ChunkReport(chunk_id="")
        self._unfinished = 0
        self._last_report = datetime.min
        self._permits = PermitHolder()

    @workflow.run
    async def run(self, input: ChunkInput) -> ChunkReport:
        self._input = input
        self._pending = ChunkReport(chunk_id=input.chunk_id)
        self._totals = ChunkReport(chunk_id=input.chunk_id)
        self._last_report = workflow.now()
        try:
            entries = await self._entries(input)
            self._unfinished = sum(len(entry.jobs) for entry in entries)
            await asyncio.gather(
                *(self._run_group(group) for group in self._groups(entries)),
                *(self._run_chain(entry) for entry in entries if entry.chain),
                *(self._run_limited(entry) for entry in entries if _limited(entry)),
            )
        except asyncio.CancelledError:
            # The batch was cancelled: jobs that have not started never will.
            self._skip(self._unfinished)
            await self._report(done=True)
            raise
        await self._report(done=True)
        return self._totals

    async def _entries(self, input: ChunkInput) -> list[Entry]:
        if input.source_chunk_id is None:
            return [
                Entry(key=batch_job_id(input.chunk_id, index), jobs=item.jobs, chain=item.is_chain)
                for index, item in enumerate(input.items)
            ]
        loaded = await workflow.execute_activity(
            load_chunk_items,
            LoadChunkItemsInput(
                chunk_id=input.source_chunk_id, indices=[retry.index for retry in input.retries]
            ),
            start_to_close_timeout=LOAD_TIMEOUT,
            task_queue=input.options.queue,
        )
        items = {loaded_item.index: loaded_item.item for loaded_item in loaded}
        return [
            Entry(
                key=batch_job_id(input.source_chunk_id, retry.index),
                jobs=items[retry.index].jobs[retry.chain_offset :],
                chain=items[retry.index].is_chain,
                chain_offset=retry.chain_offset,
            )
            for retry in input.retries
        ]

    def _groups(self, entries: list[Entry]) -> list[list[tuple[Entry, JobSpec]]]:
        """Single jobs without limits, by queue and priority, in groups of ``group_size``."""
        by_queue: dict[tuple[object, ...], list[tuple[Entry, JobSpec]]] = {}
        for entry in entries:
            if not entry.chain and not _limited(entry):
                spec = entry.jobs[0]
                key = (spec.policy.queue, *_priority_fields(spec.policy))
                by_queue.setdefault(key, []).append((entry, spec))
        size = self._input.options.group_size
        if self._input.group_size is not None and self._input.options.spread_small_pages:
            size = min(size, self._input.group_size)
        return [
            jobs[start : start + size]
            for jobs in by_queue.values()
            for start in range(0, len(jobs), size)
        ]

    async def _run_group(self, group: list[tuple[Entry, JobSpec]]) -> None:
        options = self._input.options
        concurrency = options.group_concurrency
        longest = max(spec.policy.timeout for _, spec in group)
        rounds = -(-len(group) // concurrency)
        try:
            result = await workflow.execute_activity(
                run_job_group,
                JobGroupInput(
                    batch=self._input.batch,
                    chunk_id=self._input.chunk_id,
                    jobs=[
                        GroupedJob(index=i, spec=spec, job_id=entry.job_id())
                        for i, (entry, spec) in enumerate(group)
                    ],
                    concurrency=concurrency,
                    stop_on_failure=not options.allow_failures,
                ),
                task_queue=group[0][1].policy.queue,
                # Batch jobs keep their level and fairness key: a group is one task of them.
                priority=task_priority(group[0][1].policy, None, group[0][1].job),
                start_to_close_timeout=timedelta(seconds=longest * rounds + 60),
                heartbeat_timeout=GROUP_HEARTBEAT_TIMEOUT,
                retry_policy=GROUP_RETRY,
                # A cancelled chunk closes only once its running jobs have stopped.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=f"{len(group)} jobs",
            )
        except ActivityError as error:
            for entry, spec in group:
                failure = failure_from(
                    error, policy=spec.policy, job_id=entry.job_id(), now=workflow.now()
                )
                await self._finish(entry.job_id(), failure, spec)
            return
        retries = []
        reported = {outcome.index for outcome in result.outcomes}
        self._skip(len(group) - len(reported))  # never started: the batch is being cancelled
        for outcome in result.outcomes:
            entry, spec = group[outcome.index]
            if outcome.ok:
                await self._finish(entry.job_id())
            elif outcome.retryable and spec.policy.tries > 1:
                retries.append(self._retry(entry, spec, outcome))
            else:
                await self._finish(entry.job_id(), outcome.failure, spec)
        await asyncio.gather(*retries)

    async def _retry(self, entry: Entry, spec: JobSpec, first: JobAttemptOutcome) -> None:
        """Attempts 2..tries of a job whose first attempt failed inside a group."""
        delay = first.retry_delay
        if delay is None:
            delay = spec.policy.delay_before_retry(1)
        if delay > 0:
            await workflow.sleep(timedelta(seconds=delay))
        remaining = spec.policy.model_copy(update={"tries": spec.policy.tries - 1})
        failure = await self._run_job(entry.job_id(), spec.job, spec.payload, remaining, offset=1)
        await self._finish(entry.job_id(), failure, spec)

    async def _run_limited(self, entry: Entry) -> None:
        """A job under a rate, concurrency or overlap limit runs on its own, with permits."""
        spec = entry.jobs[0]
        failure = await self._run_job(entry.job_id(), spec.job, spec.payload, spec.policy)
        await self._finish(entry.job_id(), failure, spec)

    async def _run_chain(self, entry: Entry) -> None:
        """Steps in order; the first step that fails for good stops the chain."""
        for step, spec in enumerate(entry.jobs):
            failure = await self._run_job(entry.job_id(step), spec.job, spec.payload, spec.policy)
            await self._finish(entry.job_id(step), failure, spec)
            if failure is not None:
                self._skip(len(entry.jobs) - step - 1)
                return

    async def _run_job(
        self, job_id: str, job: str, payload: dict[str, Any], policy: JobPolicy, *, offset: int = 0
    ) -> JobFailure | None:
        """Run one job with its retry policy; return its failure, or None on success."""

        async def attempt(attempt_policy: JobPolicy, spent: int) -> None:
            await workflow.execute_activity(
                run_job,
                RunJobInput(
                    job=job,
                    payload=payload,
                    job_id=job_id,
                    policy=attempt_policy,
                    batch_id=self._input.batch_id,
                    attempt_offset=offset + spent,
                    batch=self._input.batch,
                ),
                **activity_options(attempt_policy, workflow.now(), job),
            )

        try:
            if is_stepwise(policy, workflow.now()) and workflow.patched(STEPWISE_PATCH):
                await run_stepwise(job, policy, attempt, self._permits, spent_before=offset)
            else:
                await attempt(policy, 0)
        except ActivityError as error:
            return failure_from(error, policy=policy, job_id=job_id, now=workflow.now())
        return None

    async def _finish(
        self, job_id: str, failure: JobFailure | None = None, spec: JobSpec | None = None
    ) -> None:
        self._unfinished -= 1
        if failure is not None and spec is not None:
            await self._dead_letter(job_id, spec, failure)
        if failure is None:
            self._pending.succeeded += 1
            self._totals.succeeded += 1
        else:
            self._pending.failed_ids.append(job_id)
            self._totals.failed_ids.append(job_id)
            if self._pending.first_failure is None:
                self._pending.first_failure = failure
        await self._report()

    async def _dead_letter(self, job_id: str, spec: JobSpec, failure: JobFailure) -> None:
        """A coalesced job that failed for good gets its own JobWorkflow, parked in the DLQ.

        Started before the chunk reports the failure, so once the batch has finished every
        failed job of it can be found by its id (``jobmodule failed``, ``jobmodule retry``).
        """
        retention = self._input.options.dead_letter_retention_days
        if retention is None:
            return
        job_input = JobInput(
            job=spec.job,
            payload=spec.payload,
            policy=spec.policy,
            dead_letter_retention_days=retention,
            failed_before=failure,
        )
        start = job_start(job_input, summary=f"{short_name(spec.job)} (coalesced)")
        try:
            await workflow.start_child_workflow(
                JobWorkflow.run,
                job_input,
                id=job_id,
                task_queue=spec.policy.queue,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=start.search_attributes,
                static_summary=start.summary,
                priority=start.priority,
            )
        except WorkflowAlreadyStartedError:
            # A workflow of this id is open already (an earlier failure of it): keep that one.
            workflow.logger.info("job %s is already in the dead-letter queue", job_id)

    @workflow.signal(name=PERMIT_GRANTED_SIGNAL)
    def permit_granted(self, grant: PermitGrant) -> None:
        """A limiter granted a permit one of this chunk's jobs waits for."""
        self._permits.granted(grant)

    def _skip(self, count: int) -> None:
        self._unfinished -= count
        self._pending.skipped += count
        self._totals.skipped += count

    async def _report(self, *, done: bool = False) -> None:
        """Signal the deltas to the batch: at once on failure or at the end, else ~1/s."""
        urgent = done or self._pending.first_failure is not None
        if not urgent and workflow.now() - self._last_report < REPORT_EVERY:
            return
        report, self._pending = self._pending, ChunkReport(chunk_id=self._input.chunk_id)
        report.done = done
        if not (done or report.succeeded or report.failed_ids or report.skipped):
            return
        self._last_report = workflow.now()
        parent = workflow.get_external_workflow_handle(self._input.batch_id)
        try:
            await parent.signal(CHUNK_PROGRESS_SIGNAL, report)
        except Exception as error:
            # Only a closed batch refuses a signal (finished, cancelled, or its retention over):
            # nobody is left to count this chunk, so its report has no reader.
            workflow.logger.warning("batch %s took no report: %s", self._input.batch_id, error)
