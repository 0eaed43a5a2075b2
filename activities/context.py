"""The per-attempt context a running job sees: attempt number, checkpoint, batch.

It is a context variable set by the ``run_job`` activity, so ``self.attempts()`` works in async
and in thread-pool (sync) handlers alike, and a Job stays a plain, serialisable pydantic model.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobmodule.activities.batch_models import JobBatch
    from jobmodule.activities.failure import JobFailure


@dataclass
class JobContext:
    """What ``run_job`` knows about the attempt in progress."""

    job_id: str
    attempt: int
    checkpoint: Any = None
    batch_id: str | None = None
    loop: asyncio.AbstractEventLoop | None = None
    batch: JobBatch | None = None
    """The batch as it was when this attempt started (exact for callbacks)."""
    batch_failure: JobFailure | None = None
    """For a batch's catch callback: the failure that triggered it."""
    send_heartbeat: Callable[[Any], None] | None = None
    """How this attempt reports liveness and its checkpoint (set by the running activity)."""


current_job_context: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar(
    "jobmodule_job_context", default=None
)
