"""The per-attempt context a running job sees: attempt number, checkpoint, batch.

It is a context variable set by the ``run_job`` activity, so ``self.attempts()`` works in async
and in thread-pool (sync) handlers alike, and a Job stays a plain, serialisable pydantic model.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JobContext:
    """What ``run_job`` knows about the attempt in progress."""

    job_id: str
    attempt: int
    checkpoint: Any = None
    batch_id: str | None = None
    loop: asyncio.AbstractEventLoop | None = None
    extra: dict[str, Any] = field(default_factory=dict)


current_job_context: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar(
    "jobmodule_job_context", default=None
)
