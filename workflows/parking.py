"""Park a job that failed for good elsewhere (a carrier, a batch callback, a chain's catch) in
the dead-letter queue, as a ``JobWorkflow`` of its own, so every such failure is listed by
``jobmodule failed`` and can be retried one by one.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import JobBatch, JobFailure, JobSpec
    from jobmodule.workflows.job import JobWorkflow
    from jobmodule.workflows.job_models import JobInput
    from jobmodule.workflows.job_start import job_start


async def park(
    spec: JobSpec,
    failure: JobFailure,
    *,
    job_id: str,
    summary: str,
    retention_days: float,
    batch_id: str | None = None,
    batch: JobBatch | None = None,
    batch_failure: JobFailure | None = None,
    chain_rest: list[JobSpec] | None = None,
    chain_catch: JobSpec | None = None,
) -> None:
    """Start ``spec``'s JobWorkflow already failed: it runs ``failed()`` once, then waits for an
    operator. Its parent may close; the parked job stays (ParentClosePolicy.ABANDON)."""
    job_input = JobInput(
        job=spec.job,
        payload=spec.payload,
        policy=spec.policy,
        batch_id=batch_id,
        dead_letter_retention_days=retention_days,
        failed_before=failure,
        batch=batch,
        batch_failure=batch_failure,
        chain_rest=chain_rest or [],
        chain_catch=chain_catch,
    )
    start = job_start(job_input, summary=summary)
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
