"""The Job base class: a pydantic model; its fields are the payload, ``handle()`` is the work.

Class attributes carry Laravel's policy (``queue``, ``tries``, ``backoff``, ``timeout``); they are
ClassVars, so they never become payload fields. Dispatching lives in ``jobmodule.Job``, which adds
``dispatch()`` on top of this class, so this layer imports nothing but pydantic and temporalio.
``registry``, at the end, is the one table of job classes by name.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from pydantic import BaseModel, ConfigDict

from jobmodule.activities.context import JobContext, current_job_context
from jobmodule.activities.errors import JobDefinitionError, JobFailedError, JobReleasedError
from jobmodule.activities.failure import JobFailure
from jobmodule.activities.limits import check_overlap_key
from jobmodule.activities.policy import DEFAULT_DEADLINE_HORIZON_SECONDS, BackoffSpec, JobPolicy
from jobmodule.activities.registry import JobRegistry

if TYPE_CHECKING:
    from jobmodule.activities.batch_models import JobBatch


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class Job(BaseModel):
    """Base class of every job. Subclass it, declare payload fields, implement ``handle()``."""

    model_config = ConfigDict(extra="forbid")

    queue: ClassVar[str] = "default"
    """Task queue the job runs on (Laravel ``$queue``)."""
    tries: ClassVar[int] = 1
    """Total attempts (Laravel ``$tries``)."""
    backoff: ClassVar[BackoffSpec] = 0
    """Seconds between attempts: int, list (progressive, last repeats) or ``"exponential"``."""
    timeout: ClassVar[float] = 60
    """Seconds one attempt may run (Laravel ``$timeout``)."""
    heartbeat_timeout: ClassVar[float | None] = None
    """Seconds between heartbeats before the attempt is presumed dead (long jobs)."""
    priority: ClassVar[int | str | None] = None
    """Temporal priority key 1 (highest) .. 5 (lowest), or ``"high"``/``"normal"``/``"low"``."""
    fairness_key: ClassVar[str | None] = None
    """Fairness key under a backlog (at most 64 bytes); None means the job class's name."""
    fairness_weight: ClassVar[float | None] = None
    """This class's share of its priority level against other fairness keys (default 1.0)."""
    deadline_horizon: ClassVar[float] = DEFAULT_DEADLINE_HORIZON_SECONDS
    """Seconds before a deadline from which the job is raised one priority level."""
    rate_limit: ClassVar[str | None] = None
    """``"N/s"``, ``"N/m"`` or ``"N/h"``: at most N attempts start per period, on all workers."""
    max_concurrency: ClassVar[int | None] = None
    """At most this many jobs of the class run at once, on all workers."""
    without_overlapping: ClassVar[str | None] = None
    """A payload field: jobs with the same value of it never run at once (Laravel's
    ``WithoutOverlapping``); ``.without_overlapping(key)`` at dispatch names a key instead."""
    local: ClassVar[bool] = False
    """Run as a local activity (short jobs: fewer events and round trips; no heartbeats)."""
    job_name_override: ClassVar[str | None] = None
    """Set to give the job a stable name other than its import path."""
    abstract: ClassVar[bool] = False
    """True on intermediate base classes that are not jobs themselves."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Runs once pydantic has built the model; a bad policy fails at import, not at dispatch.
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        try:
            cls.default_policy()
        except ValueError as error:
            message = f"{cls.__qualname__} declares an invalid policy: {error}"
            raise JobDefinitionError(message) from error
        field = cls.without_overlapping
        if field is not None and field not in cls.model_fields:
            fields = ", ".join(cls.model_fields) or "none"
            raise JobDefinitionError(
                f"{cls.__qualname__}.without_overlapping names {field!r}, which is not a "
                f"payload field; its fields are: {fields}"
            )
        registry.register(cls)

    # -- identity and policy -------------------------------------------------------------------

    @classmethod
    def job_name(cls) -> str:
        """The name workers, schedules and the CLI use: the import path unless overridden."""
        return cls.job_name_override or f"{cls.__module__}.{cls.__qualname__}"

    @classmethod
    def default_policy(cls) -> JobPolicy:
        """The policy declared by the class attributes."""
        return JobPolicy(
            queue=cls.queue,
            tries=cls.tries,
            backoff=cls.backoff,
            timeout=cls.timeout,
            heartbeat_timeout=cls.heartbeat_timeout,
            priority=cls.priority,
            local=cls.local,
            fairness_key=cls.fairness_key,
            fairness_weight=cls.fairness_weight,
            deadline_horizon=cls.deadline_horizon,
            rate_limit=cls.rate_limit,
            max_concurrency=cls.max_concurrency,
        )

    def resolved_policy(self) -> JobPolicy:
        """This job's policy: the class's, with the overlap key read from its payload."""
        policy = self.default_policy()
        field = self.without_overlapping
        if field is None:
            return policy
        key = getattr(self, field)
        if key is None:
            raise ValueError(
                f"{type(self).__qualname__}.{field} is None, so it cannot key "
                "without_overlapping: give it a value or dispatch with .without_overlapping(key)"
            )
        return policy.model_copy(update={"overlap_key": check_overlap_key(str(key))})

    def summary(self) -> str:
        """A one-line description for the Web UI, e.g. ``ProcessUserData(user_id=7)``."""
        fields = ", ".join(f"{k}={v!r}" for k, v in self.model_dump().items())
        text = f"{type(self).__name__}({fields})"
        return text if len(text) <= 200 else text[:197] + "..."

    # -- the work ------------------------------------------------------------------------------

    def handle(self) -> Any:
        """Do the work. May be ``async def`` or a plain ``def`` (run in a thread pool)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement handle()")

    def failed(self, failure: JobFailure) -> Any:
        """Called once after the last attempt failed. Override it; sync or async."""
        return None

    # -- Laravel's helpers inside handle() -----------------------------------------------------

    def attempts(self) -> int:
        """The current attempt number, starting at 1."""
        return self._context().attempt

    def release(self, delay: float = 0) -> NoReturn:
        """Put the job back on the queue to be attempted again after ``delay`` seconds."""
        raise JobReleasedError(delay)

    def fail(self, reason: str | BaseException = "failed") -> NoReturn:
        """Fail now, with no further attempts; the job goes to the dead-letter queue."""
        if isinstance(reason, BaseException):
            raise JobFailedError(f"{type(reason).__name__}: {reason}") from reason
        raise JobFailedError(reason)

    def heartbeat(self, checkpoint: Any = None) -> None:
        """Report liveness and, optionally, a checkpoint that the next attempt resumes from.

        Safe from sync handlers running in a thread: the heartbeat is handed to the worker loop.
        """
        context = self._context()
        context.checkpoint = checkpoint
        send = context.send_heartbeat
        if send is None:
            return
        loop = context.loop
        if loop is not None and not _on_loop(loop):
            loop.call_soon_threadsafe(send, checkpoint)
        else:
            send(checkpoint)

    def checkpoint(self) -> Any:
        """The last checkpoint heartbeated by this or an earlier attempt, or None."""
        return self._context().checkpoint

    @property
    def batch_id(self) -> str | None:
        """The id of the batch this job belongs to, if any."""
        return self._context().batch_id

    @property
    def batch(self) -> JobBatch | None:
        """The batch this job belongs to, as it was when the attempt started (None outside one)."""
        return self._context().batch

    @property
    def batch_failure(self) -> JobFailure | None:
        """In a batch's catch callback: the job failure that triggered it."""
        return self._context().batch_failure

    @property
    def job_id(self) -> str:
        """The id of the running job (its workflow id)."""
        return self._context().job_id

    def _context(self) -> JobContext:
        context = current_job_context.get()
        if context is None:
            # Outside a worker (e.g. a unit test calling handle() directly): a fresh first attempt.
            context = JobContext(job_id="local", attempt=1)
            current_job_context.set(context)
        return context


registry: JobRegistry[Job] = JobRegistry()
"""Every job class by name; ``Job`` subclasses add themselves when they are defined."""
