"""What a job's ``failed()`` hook and the dead-letter queue know about a failure."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class JobFailure(BaseModel):
    """The last error of a job that exhausted its attempts (Laravel's ``$exception``)."""

    type: str
    """The exception class name, or Temporal's timeout type (e.g. ``StartToClose``)."""
    message: str
    attempts: int
    failed_at: datetime
    job_id: str | None = None
    traceback: str | None = None
    """The formatted stack of the last attempt, trimmed to a few KB (None for a timeout)."""
    frame: str | None = None
    """The innermost frame in the job's own code, as ``file:line in function``."""
