"""A batch's then/catch/finally callbacks: run once, and parked in the DLQ if they fail for good.

Called from ``BatchWorkflow`` only, inside its workflow context.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import JobBatch, JobFailure, JobSpec, RunJobInput, ids, run_job
    from jobmodule.activities.ids import Callback
    from jobmodule.workflows.activity_options import activity_options
    from jobmodule.workflows.batch_models import BatchOptions
    from jobmodule.workflows.failures import failure_from
    from jobmodule.workflows.parking import park

PARK_CALLBACKS_PATCH = "park-failed-callbacks"
"""Runs that recorded this marker park a callback that failed for good in the DLQ."""


def callback_spec(options: BatchOptions, which: Callback) -> JobSpec | None:
    """The job a batch runs as its ``which`` callback, if it has one."""
    return {"then": options.then, "catch": options.catch, "finally": options.finally_}[which]


async def run_callback(
    which: Callback,
    spec: JobSpec,
    *,
    batch: JobBatch,
    batch_failure: JobFailure | None,
    retention_days: float,
    title: str,
) -> None:
    """Run a callback once, retried with its own policy; one that fails for good is parked
    (and named in ``batch.failed_callbacks``)."""
    job_id = ids.callback_job_id(batch.id, which)
    try:
        await workflow.execute_activity(
            run_job,
            RunJobInput(
                job=spec.job,
                payload=spec.payload,
                job_id=job_id,
                policy=spec.policy,
                batch_id=batch.id,
                batch=batch,
                batch_failure=batch_failure,
            ),
            summary=f"{which} callback",
            **activity_options(spec.policy, workflow.now()),
        )
    except ActivityError as error:
        workflow.logger.error("%s callback of batch %s failed: %s", which, batch.id, error)
        if workflow.patched(PARK_CALLBACKS_PATCH):
            batch.failed_callbacks.append(which)
            failure = failure_from(error, policy=spec.policy, job_id=job_id, now=workflow.now())
            await park(
                spec,
                failure,
                job_id=job_id,
                summary=f"{which} callback of {title}",
                retention_days=retention_days,
                batch_id=batch.id,
                batch=batch.model_copy(),
                batch_failure=batch_failure,
            )
