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
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import (
        FailedHookInput,
        JobFailure,
        JobPolicy,
        RunJobInput,
        run_failed_hook,
        run_job,
    )
    from jobmodule.activities.ids import short_name
    from jobmodule.workflows import search_attributes as sa
    from jobmodule.workflows.activity_options import (
        activity_options,
        local_activity_options,
        remaining_until_deadline,
    )
    from jobmodule.workflows.failures import failure_from
    from jobmodule.workflows.job_models import JobInput, JobOutcome
    from jobmodule.workflows.states import SETTLED_STATES, JobState

DEAD_LETTER_EXPIRED = "DeadLetterExpired"
FAILED_HOOK_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))
FAILED_HOOK_TIMEOUT = timedelta(minutes=5)
MEMO_PAYLOAD_LIMIT = 64 * 1024
"""Payloads up to this size are copied into the dead-letter memo, for ``jobmodule failed``."""

DeadLetterCommand = Literal["retry", "forget"]


@workflow.defn(name="JobWorkflow")
class JobWorkflow:
    """Runs one job to success, or to the dead-letter queue and whatever an operator decides."""

    def __init__(self) -> None:
        self._state = JobState.QUEUED
        self._command: DeadLetterCommand | None = None
        self._failure: JobFailure | None = None
        self._result: Any = None
        self._runs = 0

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
            except AttemptsExhausted as exhausted:
                self._failure = exhausted.failure
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
            ready_at=self._ready_at(input) if self._runs == 1 else None,
        )
        summary = f"run {short_name(input.job)}"
        try:
            if policy.local:
                return await workflow.execute_local_activity(
                    run_job, run_input, summary=summary, **local_activity_options(policy, now)
                )
            return await workflow.execute_activity(
                run_job, run_input, summary=summary, **activity_options(policy, now)
            )
        except ActivityError as error:
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

    async def _park_in_dead_letter_queue(
        self, input: JobInput, failure: JobFailure
    ) -> DeadLetterCommand:
        self._set_state(JobState.DEAD_LETTERED)
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

    def _set_state(self, state: JobState) -> None:
        self._state = state
        workflow.upsert_search_attributes([sa.JOB_STATUS.value_set(state.value)])

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

    @workflow.signal(name="dlq_retry")
    def retry_signal(self) -> None:
        """Bulk form of ``retry`` (Temporal batch operations can send signals, not updates)."""
        if self._state == JobState.DEAD_LETTERED:
            self._command = "retry"

    @workflow.signal(name="dlq_forget")
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


class AttemptsExhausted(Exception):
    """The job will not succeed on this run: its attempts are spent, or its deadline passed."""

    def __init__(self, failure: JobFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure
