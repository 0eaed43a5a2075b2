"""``BatchChunkWorkflow``: up to 1,000 jobs of a batch, run in groups, reported to the batch.

First attempts run many to an activity (``run_job_group``); a job whose first attempt fails is
retried on its own with its remaining tries and its backoff. Chains run step by step. Progress
goes to the batch as signals (deltas), at most about once a second, and at once on a failure,
so the batch can run ``catch`` and cancel without waiting for the chunk to end. In a coalesced
dispatch's carrier, a job that fails for good is also handed to a parked ``JobWorkflow`` of its
own: the dead-letter queue.

A group attempt that dies (its process was killed, or hung) keeps its finished jobs, read from
its last heartbeat, and its other jobs run one at a time, each as an activity of its own with
its own tries: one of them killed the process, and running them alone pins a second crash on
that one job. A group whose worker shut down under it is sent again for its unfinished jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import (
        GROUP_INTERRUPTED,
        GroupedJob,
        JobAttemptOutcome,
        JobFailure,
        JobGroupInput,
        JobGroupResult,
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
    from jobmodule.workflows.batch_models import (
        CHUNK_PROGRESS_SIGNAL,
        EXTERNAL_NOT_FOUND,
        ChunkInput,
        ChunkReport,
    )
    from jobmodule.workflows.failures import failure_from
    from jobmodule.workflows.job import STEPWISE_PATCH
    from jobmodule.workflows.parking import park
    from jobmodule.workflows.permits import PermitHolder

GROUP_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
GROUP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=10)
"""Runs without ISOLATE_PATCH: Temporal retried a whole group, poison job included."""
GROUP_ONCE = RetryPolicy(maximum_attempts=1)
"""Runs with ISOLATE_PATCH: the chunk itself decides what a dead group's jobs do next."""
GROUP_RESENDS = 10
"""A group interrupted by worker shutdowns is sent again this often, then its jobs go alone."""
REPORT_EVERY = timedelta(seconds=1)
REPORT_RETRY_FIRST = timedelta(seconds=1)
REPORT_RETRY_MAX = timedelta(minutes=1)
LOAD_TIMEOUT = timedelta(minutes=2)

ISOLATE_PATCH = "isolate-the-jobs-of-a-dead-group"
"""Runs that recorded this marker keep a dead group's finished jobs and run the rest alone."""
CANCELLED_GROUP_PATCH = "skip-the-jobs-of-a-cancelled-group"
"""Runs that recorded this marker count a cancelled group's jobs as skipped, not failed."""
RESEND_DEAD_GROUP_PATCH = "resend-a-dead-group-once"
"""Runs that recorded this marker send a dead group's unfinished jobs again as one group, once,
and run them one at a time only if that group dies too: a worker killed by a deploy, an operator
or the OOM killer then costs one resend, not a crawl of one job at a time (W6), while a job that
kills its process costs one more group before it runs alone."""
PARK_BATCH_JOBS_PATCH = "park-failed-batch-jobs"
"""Runs that recorded this marker park every job that fails for good, not only coalesced ones."""
RETRY_REPORTS_PATCH = "retry-chunk-reports"
"""Runs that recorded this marker send a refused progress report again until it is taken."""


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
        self._alone = asyncio.Lock()
        """One job at a time, chunk-wide: the jobs of dead groups, so a crash has one suspect."""
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

    async def _run_group(
        self, group: list[tuple[Entry, JobSpec]], resends: int = 0, died: bool = False
    ) -> None:
        options = self._input.options
        concurrency = options.group_concurrency
        longest = max(spec.policy.timeout for _, spec in group)
        rounds = -(-len(group) // concurrency)
        isolating = workflow.patched(ISOLATE_PATCH)
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
                retry_policy=GROUP_ONCE if isolating else GROUP_RETRY,
                # A cancelled chunk closes only once its running jobs have stopped.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=f"{len(group)} jobs",
            )
        except ActivityError as error:
            if isolating and not isinstance(error.cause, CancelledError):
                await self._after_dead_group(group, error, resends, died)
                return
            if isinstance(error.cause, CancelledError) and workflow.patched(CANCELLED_GROUP_PATCH):
                self._skip(len(group))  # cancelled with its batch: not run, and not failed
                return
            for entry, spec in group:
                failure = failure_from(
                    error, policy=spec.policy, job_id=entry.job_id(), now=workflow.now()
                )
                await self._finish(entry.job_id(), failure, spec)
            return
        reported = {outcome.index for outcome in result.outcomes}
        self._skip(len(group) - len(reported))  # never started: the batch is being cancelled
        await self._settle_outcomes(group, result)

    async def _settle_outcomes(
        self, group: list[tuple[Entry, JobSpec]], result: JobGroupResult
    ) -> None:
        """Count the group's finished first attempts; retry the failures one by one."""
        retries = []
        for outcome in result.outcomes:
            entry, spec = group[outcome.index]
            if outcome.ok:
                await self._finish(entry.job_id())
            elif outcome.retryable and spec.policy.tries > 1:
                retries.append(self._retry(entry, spec, outcome))
            else:
                await self._finish(entry.job_id(), outcome.failure, spec)
        await asyncio.gather(*retries)

    async def _after_dead_group(
        self,
        group: list[tuple[Entry, JobSpec]],
        error: ActivityError,
        resends: int,
        died: bool,
    ) -> None:
        """Keep what a dead group finished; send the rest again, or run them one at a time.

        A group whose worker shut down under it is sent again (up to ``GROUP_RESENDS`` times);
        one whose process died is sent again once, and if that one dies too, its jobs run alone.
        """
        finished = JobGroupResult(outcomes=_heartbeated_outcomes(error))
        done = {outcome.index for outcome in finished.outcomes}
        rest = [job for index, job in enumerate(group) if index not in done]
        cause = error.cause
        interrupted = isinstance(cause, ApplicationError) and cause.type == GROUP_INTERRUPTED
        resend = bool(rest) and interrupted and resends < GROUP_RESENDS
        first_death = bool(rest) and not interrupted and not died
        resend_dead = first_death and workflow.patched(RESEND_DEAD_GROUP_PATCH)
        workflow.logger.warning(
            "a group of chunk %s died (%s): %d finished, %d %s",
            self._input.chunk_id,
            cause,
            len(done),
            len(rest),
            "sent again" if resend or resend_dead else "run one at a time",
        )
        pending = [self._settle_outcomes(group, finished)]
        if resend:
            pending.append(self._run_group(rest, resends + 1, died))
        elif resend_dead:
            pending.append(self._run_group(rest, resends, died=True))
        else:
            pending.extend(self._run_alone(entry, spec) for entry, spec in rest)
        await asyncio.gather(*pending)

    async def _run_alone(self, entry: Entry, spec: JobSpec) -> None:
        """A job of a dead group: by itself, so a crash it causes is counted against it only."""
        async with self._alone:
            failure = await self._run_job(entry.job_id(), spec.job, spec.payload, spec.policy)
        await self._finish(entry.job_id(), failure, spec)

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
        """A job that failed for good gets its own JobWorkflow, parked in the DLQ.

        Started before the chunk reports the failure, so once the batch has finished every
        failed job of it can be found by its id (``jobmodule failed``, ``jobmodule retry``).
        A parked batch job tells its batch when a retry of it succeeds.
        """
        carrier = self._input.options.dead_letter_retention_days
        if carrier is not None:
            await park(
                spec,
                failure,
                job_id=job_id,
                summary=f"{short_name(spec.job)} (coalesced)",
                retention_days=carrier,
            )
        elif workflow.patched(PARK_BATCH_JOBS_PATCH):
            await park(
                spec,
                failure,
                job_id=job_id,
                summary=f"{short_name(spec.job)} of batch {self._input.batch_id}",
                retention_days=self._input.options.retention_days,
                batch_id=self._input.batch_id,
                batch=self._input.batch,
            )

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
        delay = REPORT_RETRY_FIRST
        while True:
            try:
                await parent.signal(CHUNK_PROGRESS_SIGNAL, report)
                return
            except ApplicationError as error:
                if error.type == EXTERNAL_NOT_FOUND or not workflow.patched(RETRY_REPORTS_PATCH):
                    # A closed batch (finished, cancelled, or its retention over) has nobody
                    # left to count this chunk: its report has no reader.
                    workflow.logger.warning(
                        "batch %s took no report: %s", self._input.batch_id, error
                    )
                    return
                workflow.logger.warning(
                    "batch %s refused a report, sending it again in %s: %s",
                    self._input.batch_id,
                    delay,
                    error,
                )
            await workflow.sleep(delay)
            delay = min(delay * 2, REPORT_RETRY_MAX)


def _heartbeated_outcomes(error: ActivityError) -> list[JobAttemptOutcome]:
    """The outcomes a dead group had recorded: in its last heartbeat (a timeout), or in the
    details of the error it raised when its worker shut down."""
    cause = error.cause
    details: Sequence[Any] = ()
    if isinstance(cause, ActivityTimeoutError):
        details = cause.last_heartbeat_details
    elif isinstance(cause, ApplicationError):
        details = cause.details
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("outcomes"), dict):
            return [JobAttemptOutcome.model_validate(o) for o in detail["outcomes"].values()]
    return []
