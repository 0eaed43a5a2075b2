"""A drain that settles: stop taking jobs, finish the running ones, then let their workflows
record what happened before the process goes.

A job's result reaches its workflow as a workflow task. A worker that stopped everything at
once left the last jobs it finished unsettled when it was the only worker on the queue: their
``result()`` hung until some worker came back. So each queue has two Temporal workers here, one
for jobs (activities) and one for workflow tasks: on a stop the job workers drain first, and
the workflow workers keep serving until every workflow whose job finished here has no workflow
task left to run (bounded), and only then stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

log = logging.getLogger("jobmodule.worker")

HEARTBEAT_FLUSH_SECONDS = 1.5
"""Longer than the heartbeat throttle (1 s): the last details a held attempt sent get out."""
RECENT_SECONDS = 30.0
"""Jobs finished this long before the stop may still wait for their workflow task."""
POLL_SECONDS = 0.1


class FinishedJobs(Interceptor):
    """Notes which workflows had a job finish in this process, and how many jobs finished."""

    def __init__(self) -> None:
        self.finished_at: dict[str, float] = {}
        self.jobs = 0
        self.running = 0
        """Remote activities running in this process now."""
        self.changed = asyncio.Event()
        """Set whenever an activity finishes (a drain waits on it)."""
        self._listeners: list[Any] = []

    def on_jobs_finished(self, listener: Any) -> None:
        """Call ``listener(total)`` whenever jobs finish here (recycling counts them)."""
        self._listeners.append(listener)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _NoteFinishedJobs(next, self)

    def record(self, workflow_id: str, jobs: int) -> None:
        now = time.monotonic()
        self.finished_at[workflow_id] = now
        if len(self.finished_at) > 10_000:
            self.forget_before(now - RECENT_SECONDS)
        if jobs:
            self.jobs += jobs
            for listener in self._listeners:
                listener(self.jobs)

    def forget_before(self, moment: float) -> None:
        self.finished_at = {id: at for id, at in self.finished_at.items() if at >= moment}

    def recent(self, since: float) -> list[str]:
        """Workflows whose job finished here after ``since`` (a monotonic time)."""
        return [id for id, at in self.finished_at.items() if at >= since]


class _NoteFinishedJobs(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, owner: FinishedJobs) -> None:
        super().__init__(next)
        self._owner = owner

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.is_local or info.workflow_id is None:
            return await super().execute_activity(input)
        result: Any = None
        self._owner.running += 1
        try:
            result = await super().execute_activity(input)
            return result
        finally:
            self._owner.running -= 1
            self._owner.record(info.workflow_id, _jobs_in(info.activity_type, result))
            self._owner.changed.set()


def _jobs_in(activity_type: str, result: Any) -> int:
    """How many jobs an activity ran: one, the outcomes of a group, none for bookkeeping."""
    if activity_type == "run_job":
        return 1
    if activity_type == "run_job_group":
        return len(getattr(result, "outcomes", ()))
    return 0


async def settle(client: Client, workflow_ids: Iterable[str], limit: float) -> list[str]:
    """Wait until none of these workflows has a workflow task waiting; return those that do.

    One describe per workflow per round: only the workflows of jobs that just finished here.
    """
    waiting = set(workflow_ids)
    deadline = time.monotonic() + limit
    while waiting and time.monotonic() < deadline:
        settled = await asyncio.gather(*(_settled(client, id) for id in waiting))
        waiting = {id for id, done in zip(list(waiting), settled, strict=True) if not done}
        if waiting:
            await asyncio.sleep(POLL_SECONDS)
    return sorted(waiting)


async def _settled(client: Client, workflow_id: str) -> bool:
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return True  # gone, or unreadable: nothing this worker can do for it
    if description.status != WorkflowExecutionStatus.RUNNING:
        return True
    return not description.raw_description.HasField("pending_workflow_task")


async def drain(
    *,
    client: Client,
    job_workers: list[Worker],
    workflow_workers: list[Worker],
    finished: FinishedJobs,
    grace: float,
    settle_limit: float,
) -> None:
    """Stop jobs (running ones get ``grace``), settle their workflows, then stop workflows."""
    since = time.monotonic() - RECENT_SECONDS
    await asyncio.gather(*(worker.shutdown() for worker in job_workers))
    await _settle_and_stop(client, workflow_workers, finished.recent(since), settle_limit)


async def drain_tainted(
    *,
    client: Client,
    job_workers: list[Worker],
    finished: FinishedJobs,
    stuck: int,
    grace: float,
    settle_limit: float,
) -> None:
    """Drain a tainted process, whose ``stuck`` attempts never end, inside ``grace``.

    The held attempts stay alive (heartbeating) only until the SDK's grace period ends and it
    cancels them, so the others' drain and the settling fit inside it; the caller then ends the
    process, and the server retries the held attempts once their heartbeats stop.
    """
    since = time.monotonic() - RECENT_SECONDS
    deadline = time.monotonic() + max(grace - 1.0, HEARTBEAT_FLUSH_SECONDS)
    stopping = [asyncio.create_task(worker.shutdown()) for worker in job_workers]
    # At least one heartbeat interval, so the held attempts' last heartbeat (which says why
    # they were held) reaches the server before the process ends.
    await asyncio.sleep(HEARTBEAT_FLUSH_SECONDS)
    while finished.running > stuck and time.monotonic() < deadline:
        finished.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.changed.wait(), deadline - time.monotonic())
    if finished.running > stuck:
        log.warning("%d job(s) still ran at the end of the grace period", finished.running - stuck)
    limit = min(settle_limit, max(deadline - time.monotonic(), 0.0))
    await settle(client, finished.recent(since), limit)
    del stopping  # the job workers never finish shutting down: the process ends first


async def _settle_and_stop(
    client: Client, workflow_workers: list[Worker], workflow_ids: list[str], settle_limit: float
) -> None:
    unsettled = await settle(client, workflow_ids, settle_limit)
    if unsettled:
        log.warning(
            "%d workflow(s) still had work after %ss; another worker will run it: %s",
            len(unsettled),
            settle_limit,
            ", ".join(unsettled[:5]),
        )
    await asyncio.gather(*(worker.shutdown() for worker in workflow_workers))
