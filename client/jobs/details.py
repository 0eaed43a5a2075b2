"""One ``JobWorkflow``'s details, from its history: payload, attempts and last error.

A job's history is short (a run, its attempts, a stay in the dead-letter queue), so reading it
whole is one or two pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from jobmodule.activities import JobFailure
from jobmodule.errors import JobNotFoundError
from jobmodule.jobs.info import JobInfo
from jobmodule.jobs.rows import row_from_listing, with_description
from jobmodule.rpc import not_found
from jobmodule.workflows.job_models import JobInput


async def job_workflow_info(client: Client, job_id: str) -> JobInfo:
    """A JobWorkflow's row with its payload, attempts and last error, from its history."""
    handle = client.get_workflow_handle(job_id)
    with not_found(lambda: JobNotFoundError(job_id)):
        description = await handle.describe()
    if description.workflow_type != "JobWorkflow":
        raise JobNotFoundError(job_id)
    info = with_description(await row_from_listing(description), description)
    events = [event async for event in handle.fetch_history_events()]
    job_input = await _start_input(client, events)
    failure = info.failure or await _last_failure(client, events)
    attempts = max(info.attempts, _attempts_started(events))
    return info.model_copy(
        update={
            "payload": job_input.payload if job_input else None,
            "job": info.job or (job_input.job if job_input else ""),
            "failure": failure,
            "attempts": attempts,
        }
    )


async def _start_input(client: Client, events: Sequence[HistoryEvent]) -> JobInput | None:
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [decoded] = await client.data_converter.decode(payloads, [JobInput])
            return decoded if isinstance(decoded, JobInput) else None
    return None


def _attempts_started(events: Sequence[HistoryEvent]) -> int:
    """Attempts of the last run of the job's activity: the server writes each one's number."""
    attempts = 0
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attempts = max(attempts, event.activity_task_started_event_attributes.attempt)
    return attempts


async def _last_failure(client: Client, events: Sequence[HistoryEvent]) -> JobFailure | None:
    """The last recorded failure: a dead-lettered stay's memo is gone once retried, the
    workflow's result keeps the failure it recovered from."""
    for event in reversed(events):
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failure = event.activity_task_failed_event_attributes.failure
            kind = failure.application_failure_info.type or "ActivityFailure"
            return JobFailure(
                type=kind,
                message=failure.message,
                attempts=0,
                failed_at=event.event_time.ToDatetime(tzinfo=UTC),
                traceback=failure.stack_trace or None,
            )
    return None
