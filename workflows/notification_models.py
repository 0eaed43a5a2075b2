"""Inputs, state and scan results of the ``NotificationWorkflow``: one model each."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jobmodule.activities.notify import Channel

NOTIFY_QUEUE = "jobmodule-notifications"
"""The task queue of the notification workflow: every worker with a channel polls it, so the
notices go out while any such worker runs, whichever queues it serves."""


class NotifierRules(BaseModel):
    """When to notify, from the settings of the worker that started (or last configured) it."""

    digest_minutes: float = 10.0
    long_wait_seconds: float = 60.0
    long_wait_queues: dict[str, float] = Field(default_factory=dict)
    """Per-queue thresholds that override ``long_wait_seconds``."""
    scan_seconds: float = 10.0

    def long_wait_threshold(self, queue: str) -> float:
        return self.long_wait_queues.get(queue, self.long_wait_seconds)


class FailedRow(BaseModel):
    """A job that was parked in the dead-letter queue, as the scan found it."""

    id: str
    job: str
    queue: str
    exception: str
    frame: str | None = None
    attempts: int
    failed_at: datetime
    group: str
    batch_id: str | None = None


class FailedBatch(BaseModel):
    """A batch whose first job failed for good."""

    id: str
    name: str = ""
    queue: str
    failure: str
    failed_at: datetime
    catch: str | None = None


class ScanInput(BaseModel):
    """Look for what happened after ``since`` (with some overlap, for a lagging visibility)."""

    since: datetime
    rules: NotifierRules


class ScanResult(BaseModel):
    """What the scan saw, and the channels the scanning worker delivers to."""

    until: datetime
    failed: list[FailedRow] = Field(default_factory=list)
    batches: list[FailedBatch] = Field(default_factory=list)
    long_waits: dict[str, float] = Field(default_factory=dict)
    """Queues whose oldest pending job waited past its threshold: seconds it waited."""
    lost_workers: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)


class GroupWindow(BaseModel):
    """A failure group that notified: further failures wait for its digest."""

    window_end: datetime
    pending: int = 0
    sample_ids: list[str] = Field(default_factory=list)
    job: str = ""
    exception: str = ""
    queue: str = ""


class NotifierState(BaseModel):
    """What the notifier remembers across scans and continue-as-new."""

    since: datetime
    seen_ids: dict[str, datetime] = Field(default_factory=dict)
    """Jobs and batches already notified, by when they failed (kept for the scan's overlap)."""
    groups: dict[str, GroupWindow] = Field(default_factory=dict)
    waiting_queues: list[str] = Field(default_factory=list)
    """Queues with a long-wait notice out: no second one until they clear."""
    lost_workers: list[str] = Field(default_factory=list)


class NotifierInput(BaseModel):
    """Start (or continue) the notifier."""

    rules: NotifierRules
    state: NotifierState | None = None
