"""The metrics workflow's state, and the one way reports are folded into it.

The fold is deterministic and uses only the reports' own times, so the workflow and a reader of
its history (``JobMonitor``, which needs no worker to answer) build the same state from the same
events. Windows roll: minute buckets for the last two hours, hour buckets for a day before that,
a bounded number of each, so the state stays far under Temporal's 2 MB payload limit when it is
carried through continue-as-new.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, PrivateAttr

from jobmodule.workflows.metrics_models import (
    BackoffEntry,
    JobAggregate,
    ReportBatch,
    WorkerEntry,
    WorkerReport,
)

MINUTE_TIER = 120
"""Minutes kept at one-minute resolution; older minutes are folded into hour buckets."""
HOUR_TIER = 24 * 60
"""Minutes kept at all (as hour buckets beyond ``MINUTE_TIER``): windows reach back a day."""
MAX_AGGREGATES = 4000
"""Buckets kept at most (oldest dropped first): ~200 bytes each, ~0.8 MB of the 2 MB limit."""
MAX_KEYS_PER_BUCKET = 100
"""Distinct (queue, job) pairs per minute; more are counted together under ``OTHER_JOB``."""
OTHER_JOB = "(other)"
WORKER_KEPT = timedelta(hours=1)
"""A worker that stopped or went silent is listed this long, then forgotten."""
BACKOFF_KEPT_SECONDS = 60
"""Backoff entries that ran out are kept a minute, so a reader with a later clock sees them end."""

Key = tuple[int, int, str, str]
"""A bucket's start minute, width, queue and job."""
Bucket = tuple[int, int]


def as_hour(aggregate: JobAggregate) -> JobAggregate:
    """A minute's aggregate as part of its hour's bucket."""
    return aggregate.model_copy(update={"at": aggregate.at // 60 * 60, "minutes": 60})


class MetricsState(BaseModel):
    """Rolling per-minute aggregates, the workers' latest reports, and jobs in retry backoff."""

    aggregates: list[JobAggregate] = Field(default_factory=list)
    workers: dict[str, WorkerEntry] = Field(default_factory=dict)
    backoff: list[BackoffEntry] = Field(default_factory=list)
    clock: datetime | None = None
    """The latest ``sent_at`` of any report folded in: the state's own notion of now."""
    _index: dict[Key, JobAggregate] | None = PrivateAttr(default=None)
    _keys: dict[Bucket, int] | None = PrivateAttr(default=None)
    _pruned_at: int = PrivateAttr(default=-1)

    # -- folding --------------------------------------------------------------------------------

    def apply(self, batch: ReportBatch) -> None:
        """Fold a signal's reports in, skipping any a worker had sent already."""
        for report in batch.reports:
            self.apply_report(report)

    def apply_report(self, report: WorkerReport) -> None:
        snapshot = report.worker
        entry = self.workers.get(snapshot.worker_id)
        if entry is not None and report.seq <= entry.last_seq:
            return
        if entry is None:
            entry = self.workers[snapshot.worker_id] = WorkerEntry(snapshot=snapshot)
        entry.snapshot = snapshot
        entry.last_seq = report.seq
        entry.running = [] if snapshot.stopped else report.running
        if self.clock is None or snapshot.sent_at > self.clock:
            self.clock = snapshot.sent_at
        self.prune()
        for aggregate in report.aggregates:
            self._add(aggregate)
        self._add_backoff(report.backoff)

    def _add(self, aggregate: JobAggregate) -> None:
        now = self._minute()
        if aggregate.at < now - HOUR_TIER:
            return  # reported after a long outage: older than any window
        if aggregate.minutes == 1 and aggregate.at < now - MINUTE_TIER:
            aggregate = as_hour(aggregate)
        index, keys = self._indexes()
        key = aggregate.key
        existing = index.get(key)
        if existing is None and keys.get(key[:2], 0) >= MAX_KEYS_PER_BUCKET:
            aggregate = aggregate.model_copy(update={"job": OTHER_JOB})
            key = aggregate.key
            existing = index.get(key)
        if existing is not None:
            existing.merge(aggregate)
            return
        copy = aggregate.model_copy(deep=True)
        self.aggregates.append(copy)
        index[key] = copy
        keys[key[:2]] = keys.get(key[:2], 0) + 1
        if len(self.aggregates) > MAX_AGGREGATES:
            self._rebuild(sorted(self.aggregates, key=lambda a: a.at)[-MAX_AGGREGATES:])

    def _add_backoff(self, entries: list[BackoffEntry]) -> None:
        for entry in entries:
            for kept in self.backoff:
                if kept.key == entry.key:
                    kept.count += entry.count
                    break
            else:
                self.backoff.append(entry.model_copy())

    # -- rolling ----------------------------------------------------------------------------------

    def prune(self) -> None:
        """Fold old minutes into hours, drop what no window reaches, forget old workers."""
        if self.clock is None:
            return
        now = self._minute()
        if now == self._pruned_at:
            return
        self._pruned_at = now
        merged: dict[Key, JobAggregate] = {}
        for aggregate in self.aggregates:
            if aggregate.at < now - HOUR_TIER:
                continue
            if aggregate.minutes == 1 and aggregate.at < now - MINUTE_TIER:
                aggregate = as_hour(aggregate)
            existing = merged.get(aggregate.key)
            if existing is None:
                merged[aggregate.key] = aggregate
            else:
                existing.merge(aggregate)
        self._rebuild(list(merged.values()))
        self.workers = {
            worker_id: entry
            for worker_id, entry in self.workers.items()
            if self.clock - entry.snapshot.sent_at <= WORKER_KEPT
        }
        horizon = int(self.clock.timestamp()) - BACKOFF_KEPT_SECONDS
        self.backoff = [entry for entry in self.backoff if entry.ready_at >= horizon]

    def _minute(self) -> int:
        return int(self.clock.timestamp() // 60) if self.clock is not None else 0

    def _indexes(self) -> tuple[dict[Key, JobAggregate], dict[Bucket, int]]:
        if self._index is None or self._keys is None:
            self._rebuild(self.aggregates)
        assert self._index is not None and self._keys is not None
        return self._index, self._keys

    def _rebuild(self, aggregates: list[JobAggregate]) -> None:
        self.aggregates = aggregates
        self._index = {aggregate.key: aggregate for aggregate in aggregates}
        keys: dict[Bucket, int] = {}
        for aggregate in aggregates:
            keys[aggregate.key[:2]] = keys.get(aggregate.key[:2], 0) + 1
        self._keys = keys

    # -- reading ----------------------------------------------------------------------------------

    def since(self, start: datetime) -> Iterator[JobAggregate]:
        """The buckets that overlap ``[start, now]``."""
        first = int(start.timestamp() // 60)
        for aggregate in self.aggregates:
            if aggregate.at + aggregate.minutes > first:
                yield aggregate


HISTORY_LIMIT = 2000
"""The metrics workflow continues-as-new at this many events: about 500 reports, a few hundred
KB for a reader to fold, far from Temporal's 10,240-event warning."""


class MetricsInput(BaseModel):
    """Start, or continue, the metrics workflow."""

    state: MetricsState | None = None
    history_limit: int = Field(default=HISTORY_LIMIT, ge=20, le=10_000)
