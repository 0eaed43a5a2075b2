"""The dispatch builder: ``await ProcessUserData.dispatch(user_id=7).delay(...).on_queue(...)``.

Validation, serialisation and the 2 MB size check all happen before anything is sent, so bad
input never leaves a half-created job behind. A builder that is never awaited sends nothing, so
it warns when it is dropped unsent, as an un-awaited coroutine does.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from temporalio.common import WorkflowIDConflictPolicy

from jobmodule.activities import BackoffSpec, JobPolicy, JobSpec, ids
from jobmodule.batches.coalesce import COALESCE_WINDOW_SECONDS, dispatch_coalesced
from jobmodule.connection import UsesClient, with_search_attributes
from jobmodule.durations import as_timedelta
from jobmodule.jobs.handle import CoalescedJobHandle, JobHandle
from jobmodule.payloads import encode_payload_sized
from jobmodule.settings import JobSettings, default_settings
from jobmodule.sync import run_sync
from jobmodule.workflows import JobInput, JobWorkflow, job_start

if TYPE_CHECKING:
    from jobmodule.activities import Job


class PendingDispatch(UsesClient):
    """A job about to be dispatched; chain options, then ``await`` it (or call ``.sync()``)."""

    def __init__(self, job: Job, *, settings: JobSettings | None = None) -> None:
        self._job = job
        self._settings = settings
        self._overrides: dict[str, Any] = {}
        self._delay: timedelta | None = None
        self._id: str | None = None
        self._unique = False
        self._coalesce_window: float | None = None
        self._used = False

    def __del__(self) -> None:
        if not getattr(self, "_used", True):
            warnings.warn(
                f"{self._job.job_name()}.dispatch(...) was never awaited, so the job was not "
                "sent: write `await Job.dispatch(...)`, or `.sync()` without an event loop.",
                RuntimeWarning,
                stacklevel=2,
            )

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

    def deadline(self, when: datetime, *, horizon: float | None = None) -> Self:
        """No attempt may run after ``when`` (Laravel's ``retryUntil``).

        From ``horizon`` seconds before it (default: the class's ``deadline_horizon``, 10
        minutes) the job is raised one priority level, at dispatch and at each retry.
        """
        self._overrides["deadline"] = when
        if horizon is not None:
            self._overrides["deadline_horizon"] = horizon
        return self

    def priority(self, priority: int | str) -> Self:
        """Priority 1 (highest) to 5 (lowest), or ``"high"``, ``"normal"``, ``"low"``."""
        self._overrides["priority"] = priority
        return self

    def fairness(self, key: str, *, weight: float | None = None) -> Self:
        """Share the queue's throughput under a backlog by ``key`` (a tenant, say; at most 64
        bytes), in proportion to ``weight`` (default 1.0). Without it the key is the job class."""
        self._overrides["fairness_key"] = key
        if weight is not None:
            self._overrides["fairness_weight"] = weight
        return self

    def without_overlapping(self, key: str) -> Self:
        """No other job of this class with the same ``key`` runs at the same time, anywhere."""
        self._overrides["overlap_key"] = key
        return self

    def local(self, local: bool = True) -> Self:
        """Run as a local activity: fewer events and round trips, for short jobs."""
        self._overrides["local"] = local
        return self

    def coalesce(self, window: float = COALESCE_WINDOW_SECONDS) -> Self:
        """Send together with the dispatches made within ``window`` seconds: one carrier batch.

        For floods of small independent jobs (see ``jobmodule.batches.coalesce``): each job
        keeps its own policy and lands in the dead-letter queue under its handle's id if it
        fails for good, but keeps no return value. With a delay, unique key, id, priority or
        ``.local()`` the job is dispatched on its own instead.
        """
        if window < 0:
            self._used = True  # the caller sees this error; a warning would only repeat it
            raise ValueError(f"coalesce window must be >= 0 seconds, not {window}")
        self._coalesce_window = window
        return self

    def with_id(self, job_id: str) -> Self:
        """Use this job id instead of a random one."""
        self._id = job_id
        return self

    def unique(self, key: str) -> Self:
        """Laravel's ShouldBeUnique: while a job with this key is open, return that job instead."""
        self._id = ids.unique_job_id(self._job.job_name(), key)
        self._unique = True
        return self

    # -- sending -------------------------------------------------------------------------------

    def build_input(self) -> JobInput:
        """Validate and serialise everything; raises before anything is sent.

        A builder used this way (by a schedule, say) is not expected to be awaited.
        """
        self._used = True
        return self._sized_input()[0]

    def _sized_input(self) -> tuple[JobInput, int]:
        settings = self._settings or default_settings()
        if "overlap_key" in self._overrides:
            policy = self._job.default_policy()  # the dispatch names the key itself
        else:
            policy = self._job.resolved_policy()
        if self._overrides:
            policy = JobPolicy.model_validate({**policy.model_dump(), **self._overrides})
        payload, size = encode_payload_sized(self._job)
        job_input = JobInput(
            job=self._job.job_name(),
            payload=payload,
            policy=policy,
            dead_letter_retention_days=settings.dead_letter_retention_days,
            start_delay_seconds=self._delay.total_seconds() if self._delay else None,
        )
        return job_input, size

    def _coalesce_window_for(self, policy: JobPolicy) -> float | None:
        """The coalescing window; None if not asked, or if the job needs a workflow of its own."""
        own_workflow = self._delay or self._id or policy.local or policy.priority
        return None if own_workflow else self._coalesce_window

    async def send(self) -> JobHandle:
        """Start the job's workflow (or hand it to a coalesced carrier) and return its handle."""
        self._used = True
        job_input, size = self._sized_input()
        client = await self.client()
        window = self._coalesce_window_for(job_input.policy)
        if window is not None:
            spec = JobSpec(job=job_input.job, payload=job_input.payload, policy=job_input.policy)
            place = await dispatch_coalesced(
                client,
                spec,
                size,
                retention_days=job_input.dead_letter_retention_days,
                window=window,
            )
            return CoalescedJobHandle(
                id=place.job_id,
                client=client,
                job=spec.job,
                not_before=None,
                batch_id=place.batch_id,
            )
        job_id = self._id or ids.new_job_id(job_input.job)
        start = job_start(job_input, summary=self._job.summary(), now=datetime.now(UTC))
        conflict = (
            WorkflowIDConflictPolicy.USE_EXISTING if self._unique else WorkflowIDConflictPolicy.FAIL
        )
        await with_search_attributes(
            client,
            lambda: client.start_workflow(
                JobWorkflow.run,
                job_input,
                id=job_id,
                task_queue=job_input.policy.queue,
                start_delay=self._delay,
                search_attributes=start.search_attributes,
                static_summary=start.summary,
                priority=start.priority,
                id_conflict_policy=conflict,
            ),
        )
        not_before = datetime.now(UTC) + self._delay if self._delay else None
        return JobHandle(id=job_id, client=client, job=job_input.job, not_before=not_before)

    def __await__(self) -> Generator[Any, None, JobHandle]:
        return self.send().__await__()

    def sync(self) -> JobHandle:
        """Blocking dispatch, for code without an event loop."""
        self._used = True
        return run_sync(self.send())
