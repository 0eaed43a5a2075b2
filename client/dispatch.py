"""The dispatch builder: ``await ProcessUserData.dispatch(user_id=7).delay(...).on_queue(...)``.

Validation, serialisation and the 2 MB size check all happen before anything is sent, so bad
input never leaves a half-created job behind.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from temporalio.client import Client
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)

from activities import BackoffSpec, JobPolicy, JobSpec, PayloadTooLargeError
from client.connection import get_default_client
from client.handle import JobHandle
from client.settings import JobSettings, default_settings
from client.sync import run_sync
from workflows import BATCH_ID, JOB_CLASS, JOB_QUEUE, JOB_STATUS, JobInput, JobState, JobWorkflow

if TYPE_CHECKING:
    from activities import Job

COALESCE_WINDOW_SECONDS = 0.002
"""How long a coalesced dispatch waits for others to share its carrier: its added latency."""

PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024
"""Temporal rejects any payload over 2 MB (blob size limit)."""


def as_timedelta(value: timedelta | float) -> timedelta:
    """Accept seconds or a timedelta, as Laravel accepts seconds or a DateInterval."""
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def new_job_id(job_name: str) -> str:
    """A readable, unique job id: the class name plus a random suffix."""
    return f"{job_name.rsplit('.', 1)[-1]}-{uuid.uuid4().hex}"


def encode_payload_sized(job: Job) -> tuple[dict[str, Any], int]:
    """A job's payload as JSON-safe data and its size in bytes; raises over the 2 MB limit."""
    payload = job.model_dump(mode="json")
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > PAYLOAD_LIMIT_BYTES:
        raise PayloadTooLargeError(f"Payload of {job.job_name()}", size, PAYLOAD_LIMIT_BYTES)
    return payload, size


class PendingDispatch:
    """A job about to be dispatched; chain options, then ``await`` it (or call ``.sync()``)."""

    def __init__(self, job: Job, *, settings: JobSettings | None = None) -> None:
        self._job = job
        self._settings = settings
        self._overrides: dict[str, Any] = {}
        self._delay: timedelta | None = None
        self._id: str | None = None
        self._unique = False
        self._client: Client | None = None
        self._batch_id: str | None = None
        self._coalesce_window: float | None = None

    # -- options (Laravel names) ---------------------------------------------------------------

    def delay(self, delay: timedelta | float) -> Self:
        """Do not start the job before ``delay`` has passed."""
        self._delay = as_timedelta(delay)
        return self

    def on_queue(self, queue: str) -> Self:
        """Run on this queue instead of the class's."""
        self._overrides["queue"] = queue
        return self

    def tries(self, tries: int) -> Self:
        """Override the number of attempts for this dispatch."""
        self._overrides["tries"] = tries
        return self

    def backoff(self, backoff: BackoffSpec) -> Self:
        """Override the backoff for this dispatch."""
        self._overrides["backoff"] = backoff
        return self

    def timeout(self, seconds: float) -> Self:
        """Override the per-attempt timeout for this dispatch."""
        self._overrides["timeout"] = seconds
        return self

    def deadline(self, when: datetime) -> Self:
        """No attempt may run after ``when`` (Laravel's ``retryUntil``)."""
        self._overrides["deadline"] = when
        return self

    def priority(self, priority: int) -> Self:
        """Temporal priority key, 1 (highest) to 5 (lowest)."""
        self._overrides["priority"] = priority
        return self

    def local(self, local: bool = True) -> Self:
        """Run as a local activity: fewer events and round trips, for short jobs."""
        self._overrides["local"] = local
        return self

    def coalesce(self, window: float = COALESCE_WINDOW_SECONDS) -> Self:
        """Send together with the dispatches made within ``window`` seconds: one carrier batch.

        For floods of small independent jobs (see ``client.coalesce``): each job keeps its own
        policy and lands in the dead-letter queue under its handle's id if it fails for good,
        but keeps no return value. With a delay, unique key, id, priority or ``.local()`` the
        job is dispatched on its own instead.
        """
        if window < 0:
            raise ValueError(f"coalesce window must be >= 0 seconds, not {window}")
        self._coalesce_window = window
        return self

    def with_id(self, job_id: str) -> Self:
        """Use this job id instead of a random one."""
        self._id = job_id
        return self

    def unique(self, key: str) -> Self:
        """Laravel's ShouldBeUnique: while a job with this key is open, return that job instead."""
        self._id = f"{self._job.job_name()}:{key}"
        self._unique = True
        return self

    def using(self, client: Client) -> Self:
        """Dispatch through this client instead of the default one."""
        self._client = client
        return self

    def in_batch(self, batch_id: str) -> Self:
        """Tag the job with a batch id (used by batches)."""
        self._batch_id = batch_id
        return self

    # -- sending -------------------------------------------------------------------------------

    def build_input(self) -> JobInput:
        """Validate and serialise everything; raises before anything is sent."""
        return self._sized_input()[0]

    def _sized_input(self) -> tuple[JobInput, int]:
        settings = self._settings or default_settings()
        policy = self._job.default_policy()
        if self._overrides:
            policy = JobPolicy.model_validate({**policy.model_dump(), **self._overrides})
        payload, size = encode_payload_sized(self._job)
        job_input = JobInput(
            job=self._job.job_name(),
            payload=payload,
            policy=policy,
            batch_id=self._batch_id,
            dead_letter_retention_days=settings.dead_letter_retention_days,
        )
        return job_input, size

    def _coalesce_window_for(self, policy: JobPolicy) -> float | None:
        """The coalescing window; None if not asked, or if the job needs a workflow of its own."""
        own_workflow = self._delay or self._id or self._batch_id or policy.local or policy.priority
        return None if own_workflow else self._coalesce_window

    async def send(self) -> JobHandle:
        """Start the job's workflow (or hand it to a coalesced carrier) and return its handle."""
        job_input, size = self._sized_input()
        client = self._client or await get_default_client()
        window = self._coalesce_window_for(job_input.policy)
        if window is not None:
            from client.coalesce import dispatch_coalesced  # it imports client.bus, which needs us

            spec = JobSpec(job=job_input.job, payload=job_input.payload, policy=job_input.policy)
            return await dispatch_coalesced(
                client,
                spec,
                size,
                retention_days=job_input.dead_letter_retention_days,
                window=window,
            )
        job_id = self._id or new_job_id(job_input.job)
        attributes: list[SearchAttributePair[Any]] = [
            SearchAttributePair(JOB_CLASS, job_input.job),
            SearchAttributePair(JOB_QUEUE, job_input.policy.queue),
            SearchAttributePair(JOB_STATUS, JobState.QUEUED.value),
        ]
        if job_input.batch_id:
            attributes.append(SearchAttributePair(BATCH_ID, job_input.batch_id))
        priority = job_input.policy.priority
        await client.start_workflow(
            JobWorkflow.run,
            job_input,
            id=job_id,
            task_queue=job_input.policy.queue,
            start_delay=self._delay,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=self._job.summary(),
            priority=Priority(priority_key=priority) if priority else Priority.default,
            id_conflict_policy=(
                WorkflowIDConflictPolicy.USE_EXISTING
                if self._unique
                else WorkflowIDConflictPolicy.FAIL
            ),
        )
        not_before = datetime.now(UTC) + self._delay if self._delay else None
        return JobHandle(id=job_id, client=client, job=job_input.job, not_before=not_before)

    def __await__(self) -> Generator[Any, None, JobHandle]:
        return self.send().__await__()

    def sync(self) -> JobHandle:
        """Blocking dispatch, for code without an event loop."""
        return run_sync(self.send())
