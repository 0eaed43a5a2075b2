"""Rate limits, concurrency limits and without-overlapping locks: the data both sides share.

A limit holds across every worker and host because it is kept in one place, a
``LimiterWorkflow`` per job class and queue (rate and concurrency) or per overlap key (a lock
of one),
never in a worker process (Celery's per-worker ``rate_limit`` is the trap: 4 workers at "10/s"
run 40/s). A job waiting for a permit waits in its own workflow: it holds no worker slot and
spends no attempt. Requests, grants and releases are the models below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

PERIODS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0}
"""Units of a rate: ``"20/s"``, ``"100/m"``, ``"1000/h"``."""
_RATE = re.compile(r"^\s*(?P<count>\d+)\s*/\s*(?P<unit>[smh])\s*$")
OVERLAP_KEY_MAX_CHARS = 200
"""An overlap key becomes part of a workflow id (1,000 characters at most on the server)."""
LEASE_MARGIN_SECONDS = 60.0
"""A permit outlives its attempt's timeout by this much before the limiter asks if the holder
is still open (a terminated job cannot release what it holds)."""
PERMIT_GRANTED_SIGNAL = "permit_granted"
"""The signal a limiter sends to a waiting job's workflow."""


@dataclass(frozen=True)
class Rate:
    """``count`` permits per ``per`` seconds."""

    count: int
    per: float

    @property
    def interval(self) -> float:
        """Seconds between permits at the steady rate."""
        return self.per / self.count


def parse_rate(text: str) -> Rate:
    """``"20/s"`` -> Rate(20, 1.0); ValueError naming the accepted forms otherwise."""
    match = _RATE.match(text) if isinstance(text, str) else None
    if match is None or int(match["count"]) < 1:
        raise ValueError(
            f"rate_limit {text!r} is not a rate; write 'N/s', 'N/m' or 'N/h' with N >= 1, "
            "e.g. '20/s'"
        )
    return Rate(int(match["count"]), PERIODS[match["unit"]])


def check_overlap_key(key: str) -> str:
    """``key`` if it can name a lock, else ValueError saying why."""
    if not key or len(key) > OVERLAP_KEY_MAX_CHARS:
        raise ValueError(
            f"without_overlapping key must be 1 to {OVERLAP_KEY_MAX_CHARS} characters, "
            f"not {len(key)}"
        )
    return key


class LimitConfig(BaseModel):
    """What one limiter enforces; the newest request's config wins (a deploy may change it)."""

    max_concurrency: int | None = None
    rate: str | None = None


class PermitRequest(BaseModel):
    """A job asks a limiter for a permit; the grant is signalled back to ``workflow_id``."""

    request_id: str
    workflow_id: str
    run_id: str
    config: LimitConfig
    priority: int = 3
    """Waiting requests are granted by priority key, then in arrival order."""
    lease_seconds: float = LEASE_MARGIN_SECONDS


class PermitGrant(BaseModel):
    """A limiter's answer: the permit of ``request_id`` is the job's until it releases it."""

    request_id: str
    limiter_id: str


class PermitRelease(BaseModel):
    """The job is done with (or no longer waits for) the permit of ``request_id``."""

    request_id: str


class RequestPermitInput(BaseModel):
    """Ask ``limiter_id`` for a permit, starting the limiter on ``task_queue`` if none runs."""

    limiter_id: str
    task_queue: str
    request: PermitRequest


class OpenHoldersInput(BaseModel):
    """Which of these (workflow id, run id) pairs are still running."""

    holders: list[tuple[str, str]]
