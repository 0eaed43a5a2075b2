"""Which notices a scan gives, and when: no storms, nothing twice. Pure, so unit-tested.

* A failure group's first failure notifies at once. Further failures of the group are summed
  into at most one digest per window (``digest_minutes``); a window with nothing in it ends
  the group's quiet period, and its next failure notifies at once again.
* A batch's first failure notifies once.
* A long wait notifies once per queue, until that queue's oldest job no longer waits too long.
* A lost worker notifies once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobmodule.activities.notify import Notice
from jobmodule.workflows.notification_models import (
    FailedRow,
    GroupWindow,
    NotifierRules,
    NotifierState,
    ScanResult,
)

SCAN_OVERLAP = timedelta(seconds=30)
"""Each scan looks this far behind the last one: visibility may index a parking late."""
SAMPLE_IDS = 5
LOST_WORKERS_KEPT = 1000


def decide(
    state: NotifierState, scan: ScanResult, rules: NotifierRules, now: datetime
) -> list[Notice]:
    """The notices ``scan`` calls for, updating ``state`` in place."""
    notices: list[Notice] = []
    for row in sorted(scan.failed, key=lambda row: row.failed_at):
        if row.id in state.seen_ids:
            continue
        state.seen_ids[row.id] = row.failed_at
        notices.extend(_failure(state, row, rules, now))
    notices.extend(_digests(state, rules, now))
    for batch in scan.batches:
        if batch.id in state.seen_ids:
            continue
        state.seen_ids[batch.id] = batch.failed_at
        notices.append(
            Notice(
                kind="batch_failed",
                title=f"Batch {batch.name or batch.id} failed",
                text=f"Batch {batch.name or batch.id} on queue {batch.queue} failed: "
                f"{batch.failure}"
                + (f"; its catch callback {batch.catch} runs" if batch.catch else ""),
                fields=batch.model_dump(mode="json"),
                at=now,
                key=f"batch:{batch.id}",
            )
        )
    notices.extend(_long_waits(state, scan, rules, now))
    for identity in scan.lost_workers:
        if identity in state.lost_workers:
            continue
        state.lost_workers = [*state.lost_workers, identity][-LOST_WORKERS_KEPT:]
        notices.append(
            Notice(
                kind="worker_lost",
                title=f"Worker {identity} lost",
                text=f"Worker {identity} stopped reporting without saying goodbye (killed or hung)",
                fields={"worker": identity},
                at=now,
                key=f"worker:{identity}",
            )
        )
    forget_before = scan.until - 2 * SCAN_OVERLAP
    state.seen_ids = {key: at for key, at in state.seen_ids.items() if at >= forget_before}
    state.since = scan.until
    return notices


def _failure(
    state: NotifierState, row: FailedRow, rules: NotifierRules, now: datetime
) -> list[Notice]:
    window = state.groups.get(row.group)
    if window is not None and window.window_end > now:
        window.pending += 1
        window.sample_ids = [*window.sample_ids, row.id][-SAMPLE_IDS:]
        return []
    state.groups[row.group] = GroupWindow(
        window_end=now + timedelta(minutes=rules.digest_minutes),
        job=row.job,
        exception=row.exception,
        queue=row.queue,
    )
    fields = row.model_dump(mode="json") | {"job_id": row.id, "retry": f"jobmodule retry {row.id}"}
    return [
        Notice(
            kind="dead_lettered",
            title=f"{row.job} failed: {row.exception}"[:200],
            text=f"Job {row.id} ({row.job}, queue {row.queue}) failed after {row.attempts} "
            f"attempt(s): {row.exception}"
            + (f" at {row.frame}" if row.frame else "")
            + f". Retry: jobmodule retry {row.id}",
            fields=fields,
            at=now,
            key=f"job:{row.id}",
        )
    ]


def _digests(state: NotifierState, rules: NotifierRules, now: datetime) -> list[Notice]:
    notices = []
    for group, window in list(state.groups.items()):
        if window.window_end > now:
            continue
        if window.pending == 0:
            del state.groups[group]  # quiet for a whole window: the next failure is news again
            continue
        notices.append(
            Notice(
                kind="digest",
                title=f"{window.pending} more failure(s) of {window.job}: {window.exception}"[:200],
                text=f"{window.pending} more job(s) of {window.job} on queue {window.queue} failed "
                f"the same way in the last {rules.digest_minutes:g} min ({window.exception}); "
                f"e.g. {', '.join(window.sample_ids)}. Retry them all: "
                f"jobmodule retry --group {group}",
                fields={
                    "group": group,
                    "count": window.pending,
                    "job": window.job,
                    "queue": window.queue,
                    "sample_job_ids": window.sample_ids,
                },  # fmt: skip
                at=now,
                key=f"digest:{group}:{window.window_end.isoformat()}",
            )
        )
        state.groups[group] = GroupWindow(
            window_end=now + timedelta(minutes=rules.digest_minutes),
            job=window.job,
            exception=window.exception,
            queue=window.queue,
        )
    return notices


def _long_waits(
    state: NotifierState, scan: ScanResult, rules: NotifierRules, now: datetime
) -> list[Notice]:
    notices = []
    for queue, waited in sorted(scan.long_waits.items()):
        if queue in state.waiting_queues:
            continue
        threshold = rules.long_wait_threshold(queue)
        notices.append(
            Notice(
                kind="long_wait",
                title=f"Queue {queue}: jobs wait {waited:.0f}s",
                text=f"The oldest pending job on queue {queue} has waited {waited:.0f}s, over "
                f"the {threshold:g}s threshold: is a worker polling {queue}?",
                fields={"queue": queue, "waited_s": round(waited, 1), "threshold_s": threshold},
                at=now,
                key=f"wait:{queue}:{now.isoformat()}",
            )
        )
    state.waiting_queues = sorted(scan.long_waits)  # a queue that cleared may notify again
    return notices
