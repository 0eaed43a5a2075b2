"""``ChainWorkflow``: Laravel's ``Bus::chain()``: jobs in order, stop at the first failure."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import JobFailure, RunJobInput, run_job
    from jobmodule.activities.ids import callback_job_id, chain_job_id, short_name
    from jobmodule.workflows.activity_options import activity_options
    from jobmodule.workflows.batch_models import ChainInput, ChainResult
    from jobmodule.workflows.failures import failure_from
    from jobmodule.workflows.parking import park

PARK_STEP_PATCH = "park-failed-chain-step"
"""Runs that recorded this marker park a step that failed for good, with the steps after it."""
PARK_CATCH_PATCH = "park-failed-chain-catch"
"""Runs that recorded this marker park a catch callback that failed for good in the DLQ."""
DEFAULT_RETENTION_DAYS = 7.0


@workflow.defn(name="ChainWorkflow")
class ChainWorkflow:
    """Each job runs with its own retries; a job that fails for good stops the chain."""

    def __init__(self) -> None:
        self._completed = 0

    @workflow.run
    async def run(self, input: ChainInput) -> ChainResult:
        for index, spec in enumerate(input.jobs):
            job_id = chain_job_id(input.chain_id, index)
            try:
                await workflow.execute_activity(
                    run_job,
                    RunJobInput(
                        job=spec.job, payload=spec.payload, job_id=job_id, policy=spec.policy
                    ),
                    summary=f"step {index + 1}: {short_name(spec.job)}",
                    **activity_options(spec.policy, workflow.now()),
                )
            except ActivityError as error:
                failure = failure_from(error, policy=spec.policy, job_id=job_id, now=workflow.now())
                if workflow.patched(PARK_STEP_PATCH):
                    await park(
                        spec,
                        failure,
                        job_id=job_id,
                        summary=f"step {index + 1} of chain {input.chain_id}",
                        retention_days=DEFAULT_RETENTION_DAYS,
                        chain_rest=input.jobs[index + 1 :],
                        chain_catch=input.catch,
                    )
                if input.catch is not None:
                    await self._run_catch(input, failure)
                return ChainResult(completed=index, failed_index=index, failure=failure)
            self._completed = index + 1
        return ChainResult(completed=len(input.jobs))

    async def _run_catch(self, input: ChainInput, failure: JobFailure) -> None:
        catch = input.catch
        assert catch is not None
        job_id = callback_job_id(input.chain_id, "catch")
        try:
            await workflow.execute_activity(
                run_job,
                RunJobInput(
                    job=catch.job,
                    payload=catch.payload,
                    job_id=job_id,
                    policy=catch.policy,
                    batch_failure=failure,
                ),
                summary="catch callback",
                **activity_options(catch.policy, workflow.now()),
            )
        except ActivityError as error:
            workflow.logger.error("catch callback of %s failed: %s", input.chain_id, error)
            if workflow.patched(PARK_CATCH_PATCH):
                own = failure_from(error, policy=catch.policy, job_id=job_id, now=workflow.now())
                await park(
                    catch,
                    own,
                    job_id=job_id,
                    summary=f"catch callback of {input.chain_id}",
                    retention_days=DEFAULT_RETENTION_DAYS,
                    batch_failure=failure,
                )

    @workflow.query(name="completed")
    def completed(self) -> int:
        """How many steps have completed."""
        return self._completed
