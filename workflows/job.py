"""``JobWorkflow``: one dispatched job, its retries, its ``failed()`` hook and its dead-letter stay.

The job runs as one activity whose RetryPolicy carries ``tries`` and backoff. When the last
attempt fails (or the deadline passes) the workflow runs ``failed()`` once and then *parks*: it
stays open with ``JobStatus=dead_lettered`` until an operator retries or forgets it, or the
retention period ends. That parked execution is the dead-letter queue entry: no second database.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import (
        FailedHookInput,
        JobFailure,
        JobPolicy,
        PermitGrant,
        RunJobInput,
        run_failed_hook,
        run_job,
    )
    from jobmodule.activities.ids import chain_rest_id, short_name
    from jobmodule.activities.limits import PERMIT_GRANTED_SIGNAL
    from jobmodule.activities.root_cause import failure_group
    from jobmodule.workflows import search_attributes as sa
    from jobmodule.workflows.activity_options import (
        activity_options,
        local_activity_options,
        remaining_until_deadline,
    )
    from jobmodule.workflows.attempts import is_stepwise, run_stepwise
    from jobmodule.workflows.batch_models import ChainInput
    from jobmodule.workflows.failures import failure_from
    from jobmodule.workflows.job_models import JobInput, JobOutcome
    from jobmodule.workflows.permits import PermitHolder
    from jobmodule.workflows.states import SETTLED_STATES, JobState

DEAD_LETTER_EXPIRED = "DeadLetterExpired"
FAILURE_SEARCH_PATCH = "park-with-failure-group-and-time"
"""Runs that recorded this marker set FailureGroup and FailedAt when they park."""
RECOVERY_PATCH = "report-recovery-to-batch-and-chain"
"""Runs that recorded this marker tell their batch when a retry succeeds, and go on with the
rest of their chain."""
DLQ_RETRY_SIGNAL = "dlq_retry"
DLQ_FORGET_SIGNAL = "dlq_forget"
"""Bulk forms of the retry and forget Updates: Temporal batch operations send signals."""
JOB_FAILED_AGAIN_SIGNAL = "job_failed_again"
"""The signal a parked batch job sends its batch when an operator's retry of it failed too."""
JOB_RECOVERED_SIGNAL = "job_recovered"
"""The signal a parked batch job sends its batch when an operator's retry of it succeeded."""
FAILED_HOOK_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))
FAILED_HOOK_TIMEOUT = timedelta(minutes=5)
MEMO_PAYLOAD_LIMIT = 64 * 1024
"""Payloads up to this size are copied into the dead-letter memo, for ``jobmodule failed``."""

DeadLetterCommand = Literal["retry", "forget"]
STEPWISE_PATCH = "stepwise-attempts"
"""Jobs under a limit or with a far deadline schedule each attempt themselves (issue 16)."""
CANCEL_PATCH = "cancel-closes-as-cancelled"
"""Runs that recorded this marker close as cancelled when an operator cancels a running attempt;
before it, the cancelled attempt counted as the job's failure and parked it."""


@workflow.defn(name="JobWorkflow")
class JobWorkflow:
    """Runs one job to success, or to the dead-letter queue and whatever an operator decides."""

    def __init__(self) -> None:
        self._state = JobState.QUEUED
        self._command: DeadLetterCommand | None = None
        self._failure: JobFailure | None = None
        self._result: Any = None
        self._runs = 0
        self._permits = PermitHolder()

    @workflow.run
    async def run(self, input: JobInput) -> JobOutcome:
        # No search-attribute upsert here: each one is a visibility write, and on the first task
        # it cost ~25% of single-job throughput. Visibility keeps "queued" until the job settles;
        # JobHandle.status() tells queued from running by the pending activity.
        self._state = JobState.RUNNING
        policy = input.policy
        while True:
            self._runs += 1
            try:
                if input.failed_before is not None and self._runs == 1:
                    raise AttemptsExhausted(input.failed_before)
                self._result = await self._run_attempts(input, policy)
                if self._failure is not None and workflow.patched(RECOVERY_PATCH):
                    await self._recovered(input)
            except AttemptsExhausted as exhausted:
                retried = self._failure is not None
                self._failure = exhausted.failure
                if retried and input.batch_id and workflow.patched(RECOVERY_PATCH):
                    await self._tell_batch(input.batch_id, JOB_FAILED_AGAIN_SIGNAL)
                await self._run_failed_hook(input, exhausted.failure)
                if await self._park_in_dead_letter_queue(input, exhausted.failure) == "forget":
                    return await self._settle(JobState.FORGOTTEN)
                self._command = None
                self._set_state(JobState.RETRYING)
                # An operator's retry asks for a run now, so a passed deadline no longer applies.
                policy = policy.model_copy(update={"deadline": None})
                continue
            return await self._settle(JobState.SUCCEEDED)

    async def _run_attempts(self, input: JobInput, policy: JobPolicy) -> Any:
        """Run the job with its retries; raise AttemptsExhausted when it will not succeed."""
        now = workflow.now()
        job_id = workflow.info().workflow_id
        remaining = remaining_until_deadline(policy, now)
        if remaining is not None and remaining <= timedelta(0):
            message = f"deadline {policy.deadline} passed before the job could run"
            failure = JobFailure(
                type="DeadlineExceeded", message=message, attempts=0, failed_at=now, job_id=job_id
            )
            raise AttemptsExhausted(failure)
        run_input = RunJobInput(
            job=input.job,
            payload=input.payload,
            job_id=job_id,
            policy=policy,
            batch_id=input.batch_id,
            batch=input.batch,
            batch_failure=input.batch_failure,
            ready_at=self._ready_at(input) if self._runs == 1 else None,
        )
        summary = f"run {short_name(input.job)}"

        async def attempt(attempt_policy: JobPolicy, spent: int) -> Any:
            attempt_input = run_input.model_copy(
                update={"policy": attempt_policy, "attempt_offset": spent}
            )
            at = workflow.now()
            if policy.local:
                return await workflow.execute_local_activity(
                    run_job, attempt_input, summary=summary, **local_activity_options(policy, at)
                )
            options = activity_options(attempt_policy, at, input.job)
            return await workflow.execute_activity(
                run_job, attempt_input, summary=summary, **options
            )

        try:
            if is_stepwise(policy, now) and workflow.patched(STEPWISE_PATCH):
                return await run_stepwise(input.job, policy, attempt, self._permits)
            return await attempt(policy, 0)
        except ActivityError as error:
            if _cancelled_by_operator(error) and workflow.patched(CANCEL_PATCH):
                raise
            failure = failure_from(error, policy=policy, job_id=job_id, now=workflow.now())
            raise AttemptsExhausted(failure) from error

    @staticmethod
    def _ready_at(input: JobInput) -> datetime:
        """When the job could first have run: its dispatch, or the end of its start delay."""
        started = workflow.info().workflow_start_time
        return started + timedelta(seconds=input.start_delay_seconds or 0)

    async def _run_failed_hook(self, input: JobInput, failure: JobFailure) -> None:
        """Laravel's ``failed()``: once per trip to the dead-letter queue, retried on its own."""
        try:
            await workflow.execute_activity(
                run_failed_hook,
                FailedHookInput(
                    job=input.job,
                    payload=input.payload,
                    job_id=workflow.info().workflow_id,
                    failure=failure,
                    batch_id=input.batch_id,
                ),
                task_queue=input.policy.queue,
                start_to_close_timeout=FAILED_HOOK_TIMEOUT,
                retry_policy=FAILED_HOOK_RETRY,
                summary="failed() hook",
            )
        except ActivityError as error:
            # The job is already lost to its own retries; a broken hook must not lose it further.
            workflow.logger.warning("failed() hook of %s raised: %s", input.job, error.cause)

    async def _recovered(self, input: JobInput) -> None:
        """A retry out of the dead-letter queue succeeded: its batch counts it as processed,
        and the rest of its chain (``Bus.chain``) runs now."""
        job_id = workflow.info().workflow_id
        if input.batch_id is not None:
            await self._tell_batch(input.batch_id, JOB_RECOVERED_SIGNAL)
        if input.chain_rest:
            rest = chain_rest_id(job_id)
            await workflow.start_child_workflow(
                "ChainWorkflow",
                ChainInput(chain_id=rest, jobs=input.chain_rest, catch=input.chain_catch),
                id=rest,
                task_queue=input.chain_rest[0].policy.queue,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"rest of the chain after {short_name(input.job)}",
            )

    async def _tell_batch(self, batch_id: str, signal: str) -> None:
        """Tell this job's batch what its retry did; a batch that has closed is not told."""
        batch = workflow.get_external_workflow_handle(batch_id)
        try:
            await batch.signal(signal, workflow.info().workflow_id)
        except ApplicationError as error:
            workflow.logger.info("batch %s took no %s: %s", batch_id, signal, error)

    async def _park_in_dead_letter_queue(
        self, input: JobInput, failure: JobFailure
    ) -> DeadLetterCommand:
        found_by: list[SearchAttributeUpdate[Any]] = []
        if workflow.patched(FAILURE_SEARCH_PATCH):
            group = failure_group(input.job, failure.type, failure.message, failure.frame)
            found_by = [
                sa.FAILURE_GROUP.value_set(group),
                sa.FAILED_AT.value_set(failure.failed_at),
            ]
        self._set_state(JobState.DEAD_LETTERED, *found_by)
        encoded = json.dumps(input.payload, default=str)
        workflow.upsert_memo(
            {
                "failure": failure.model_dump(mode="json"),
                "payload": input.payload if len(encoded) <= MEMO_PAYLOAD_LIMIT else None,
            }
        )
        workflow.set_current_details(
            f"**Dead-lettered** after {failure.attempts} attempt(s) at "
            f"{failure.failed_at.isoformat()}\n\n"
            f"**{failure.type}**: {failure.message}\n\n"
            f"Payload: `{encoded[:2000]}`\n\n"
            "Retry with `jobmodule retry ID` or drop with `jobmodule forget ID`."
        )
        retention = timedelta(days=input.dead_letter_retention_days)
        try:
            await workflow.wait_condition(lambda: self._command is not None, timeout=retention)
        except TimeoutError:
            self._set_state(JobState.EXPIRED)
            raise ApplicationError(
                f"dead-lettered job expired after {input.dead_letter_retention_days:g} days: "
                f"{failure.type}: {failure.message}",
                type=DEAD_LETTER_EXPIRED,
                non_retryable=True,
            ) from None
        workflow.set_current_details("")
        assert self._command is not None
        return self._command

    async def _settle(self, state: JobState) -> JobOutcome:
        self._set_state(state)
        # Let callers waiting in wait_settled() receive the outcome before the run closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._outcome()

    def _outcome(self) -> JobOutcome:
        result = self._result if self._state == JobState.SUCCEEDED else None
        return JobOutcome(state=self._state, result=result, failure=self._failure, runs=self._runs)

    def _set_state(self, state: JobState, *more: SearchAttributeUpdate[Any]) -> None:
        self._state = state
        workflow.upsert_search_attributes([sa.JOB_STATUS.value_set(state.value), *more])

    # -- operator commands ---------------------------------------------------------------------

    @workflow.update(name="retry")
    async def retry(self) -> None:
        """Run a dead-lettered job again in this same history, its attempt count reset."""
        self._command = "retry"

    @retry.validator
    def _validate_retry(self) -> None:
        self._require_dead_lettered("retry")

    @workflow.update(name="forget")
    async def forget(self) -> None:
        """Drop a dead-lettered job: the execution closes and leaves the queue."""
        self._command = "forget"

    @forget.validator
    def _validate_forget(self) -> None:
        self._require_dead_lettered("forget")

    @workflow.signal(name=DLQ_RETRY_SIGNAL)
    def retry_signal(self) -> None:
        """Bulk form of ``retry`` (Temporal batch operations can send signals, not updates)."""
        if self._state == JobState.DEAD_LETTERED:
            self._command = "retry"

    @workflow.signal(name=DLQ_FORGET_SIGNAL)
    def forget_signal(self) -> None:
        """Bulk form of ``forget``."""
        if self._state == JobState.DEAD_LETTERED:
            self._command = "forget"

    @workflow.update(name="wait_settled")
    async def wait_settled(self) -> JobOutcome:
        """Block until the job succeeded, was dead-lettered or forgotten, and say which."""
        await workflow.wait_condition(
            lambda: self._state in SETTLED_STATES and self._command is None
        )
        return self._outcome()

    @workflow.signal(name=PERMIT_GRANTED_SIGNAL)
    def permit_granted(self, grant: PermitGrant) -> None:
        """A limiter granted a permit this job waits for (rate, concurrency or overlap)."""
        self._permits.granted(grant)

    @workflow.query(name="state")
    def state(self) -> JobState:
        """The job's current state as the workflow sees it."""
        return self._state

    def _require_dead_lettered(self, action: str) -> None:
        if self._state != JobState.DEAD_LETTERED or self._command is not None:
            raise ApplicationError(
                f"cannot {action}: job is {self._state.value}, not dead_lettered",
                type="NotDeadLettered",
            )


def _cancelled_by_operator(error: ActivityError) -> bool:
    """The attempt stopped because the job itself was cancelled (``JobService.cancel``)."""
    return is_cancelled_exception(error) and workflow.cancellation_reason() is not None


class AttemptsExhausted(Exception):
    """The job will not succeed on this run: its attempts are spent, or its deadline passed."""

    def __init__(self, failure: JobFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure
