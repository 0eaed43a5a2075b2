"""``scan_for_notices``: what happened since the last scan, read from visibility and monitoring.

It runs on a worker with notifications configured (``NOTIFY_QUEUE``), for the notification
workflow, which decides what to send. Each scan is a handful of calls, whatever the number of
jobs: one visibility page of new dead-letter entries, one of failed batches, one of jobs that
have waited long, a backlog read per such queue, and the workers from the metrics history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client

from jobmodule.activities.notify import DeliveryConfig
from jobmodule.batches.start import NAME_MEMO
from jobmodule.failures.handler import FailureHandler
from jobmodule.monitoring import JobMonitor
from jobmodule.monitoring.sources import backlog_age
from jobmodule.visibility import all_of, equals, quote
from jobmodule.workflows import search_attributes as sa
from jobmodule.workflows.notification_models import (
    FailedBatch,
    FailedRow,
    ScanInput,
    ScanResult,
)
from jobmodule.workflows.states import JobState

ROWS_PER_SCAN = 1000
"""New dead-letter entries read per scan at most; a flood beyond it is summed in digests."""
WAITING_JOBS_READ = 500


class NoticeScanner:
    """The scan activity, bound to the channels this worker delivers to."""

    def __init__(self, config: DeliveryConfig) -> None:
        self._config = config

    @activity.defn(name="scan_for_notices")
    async def scan(self, input: ScanInput) -> ScanResult:
        client = activity.client()
        until = datetime.now(UTC)
        failed = await _new_failures(client, input.since)
        return ScanResult(
            until=until,
            failed=failed,
            batches=await _failed_batches(client, input.since, failed),
            long_waits=await _long_waits(client, input, until),
            lost_workers=[
                worker.identity
                for worker in await JobMonitor().using(client).workers()
                if worker.status == "lost"
            ],
            channels=self._config.channels(),
        )


async def _new_failures(client: Client, since: datetime) -> list[FailedRow]:
    rows = await FailureHandler().using(client).list(since=since, limit=ROWS_PER_SCAN)
    return [
        FailedRow(
            id=row.id,
            job=row.job,
            queue=row.queue,
            exception=row.exception,
            frame=row.frame,
            attempts=row.attempts,
            failed_at=row.failed_at,
            group=row.group,
            batch_id=row.batch_id,
        )
        for row in rows
    ]


async def _failed_batches(
    client: Client, since: datetime, failed: list[FailedRow]
) -> list[FailedBatch]:
    query = all_of(
        'WorkflowType = "BatchWorkflow"',
        f"{sa.FAILED_AT.name} >= {quote(since.isoformat())}",
    )
    found = []
    async for execution in client.list_workflows(query, limit=ROWS_PER_SCAN):
        memo = await execution.memo()
        failed_at = execution.typed_search_attributes.get(sa.FAILED_AT) or datetime.now(UTC)
        first = next((row for row in failed if row.batch_id == execution.id), None)
        found.append(
            FailedBatch(
                id=execution.id,
                name=str(memo.get(NAME_MEMO) or ""),
                queue=execution.typed_search_attributes.get(sa.JOB_QUEUE) or execution.task_queue,
                failure=f"job {first.id}: {first.exception}" if first else "a job failed",
                failed_at=failed_at,
            )
        )
    return found


async def _long_waits(client: Client, input: ScanInput, now: datetime) -> dict[str, float]:
    """Queues whose oldest waiting task is older than their threshold, with its age.

    Candidates are the queues monitoring knows, and the queues of jobs queued longer than the
    smallest threshold (a queue that no worker polls is known only by those).
    """
    rules = input.rules
    shortest = min([rules.long_wait_seconds, *rules.long_wait_queues.values()])
    stats = await JobMonitor().using(client).get_queue_stats()
    queues = {row.queue for row in stats}
    before = (now - timedelta(seconds=shortest)).isoformat()
    waiting = all_of(
        'WorkflowType = "JobWorkflow"',
        'ExecutionStatus = "Running"',
        f"({equals(sa.JOB_STATUS.name, JobState.QUEUED.value)} OR "
        f"{equals(sa.JOB_STATUS.name, JobState.RETRYING.value)})",
        f"StartTime < {quote(before)}",
    )
    async for execution in client.list_workflows(waiting, limit=WAITING_JOBS_READ):
        queues.add(execution.typed_search_attributes.get(sa.JOB_QUEUE) or execution.task_queue)
    ages = {queue: await backlog_age(client, queue) for queue in sorted(queues)}
    return {
        queue: age
        for queue, age in ages.items()
        if age is not None and age > rules.long_wait_threshold(queue)
    }
