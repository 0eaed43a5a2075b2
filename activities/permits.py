"""The two activities of flow control: ask a limiter for a permit, and see who still holds one.

A workflow cannot signal-with-start another workflow, so a job's workflow asks its limiter
through ``request_permit`` (a local activity: no task-queue round trip), which starts the
limiter if none runs and hands it the request in one atomic call. The grant comes back as a
signal. ``open_holders`` lets a limiter free the permits of jobs that were terminated while
holding one.
"""

from __future__ import annotations

from temporalio import activity

from jobmodule.activities.limits import OpenHoldersInput, RequestPermitInput

LIMITER_WORKFLOW = "LimiterWorkflow"
"""By name: activities sit below the workflows and do not import them."""
ACQUIRE_SIGNAL = "acquire"


@activity.defn(name="request_permit")
async def request_permit(input: RequestPermitInput) -> None:
    """Hand ``input.request`` to its limiter, starting the limiter if it is not running."""
    client = activity.client()
    await client.start_workflow(
        LIMITER_WORKFLOW,
        id=input.limiter_id,
        task_queue=input.task_queue,
        start_signal=ACQUIRE_SIGNAL,
        start_signal_args=[input.request],
        static_summary=f"limiter {input.limiter_id}",
    )


@activity.defn(name="open_holders")
async def open_holders(input: OpenHoldersInput) -> list[str]:
    """The run ids among ``input.holders`` that are still running (from visibility)."""
    if not input.holders:
        return []
    runs = " OR ".join(f'RunId = "{run_id}"' for _, run_id in input.holders)
    query = f'ExecutionStatus = "Running" AND ({runs})'
    return [execution.run_id async for execution in activity.client().list_workflows(query)]
