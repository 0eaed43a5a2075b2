"""Coalesced dispatch: ``await Job.dispatch(...).coalesce()``.

A job of its own is a workflow: two workflow tasks and an activity round trip through the
server, each a commit on the dev server's SQLite, so independent jobs top out near the engine's
rate of empty workflows (bench W0/W1). Dispatches marked ``.coalesce()`` that arrive together,
on one client and one queue within ``window`` seconds, are started as one *carrier*: a batch
that allows failures, whose jobs run many to an activity task, each with its own tries, backoff
and timeout. It is as durable as any batch: a handle is returned only once the server has
accepted the carrier, and a worker killed mid-job costs a retry, not the job.

A job gets a workflow of its own only when it needs one. One that fails for good is parked in
the dead-letter queue as a ``JobWorkflow`` under the id its handle carries, so ``jobmodule failed``,
``jobmodule retry`` and ``handle.retry()`` treat it like any other job. A dispatch with a delay, a
unique key, its own id, a priority or ``.local()`` is not coalesced: it is started on its own.
What a coalesced job gives up is its return value (``result()`` gives None) and a visibility
row of its own while it runs: its carrier batch shows its progress.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.client import Client

from jobmodule.activities import BatchItem, JobSpec, ids
from jobmodule.batches.pages import PAGE_BYTES, PAGE_JOBS, SPEC_OVERHEAD_BYTES, spread_group_size
from jobmodule.batches.start import start_batch
from jobmodule.workflows import BatchInput, BatchOptions

COALESCE_WINDOW_SECONDS = 0.002
"""How long a coalesced dispatch waits for others to share its carrier: its added latency."""
CARRIER_JOBS = PAGE_JOBS
"""Jobs per carrier at most: one chunk, so a job's id is known before the carrier starts."""


@dataclass(frozen=True)
class CoalescedPlace:
    """Where a coalesced job went: its carrier batch, and the id it runs (and parks) under."""

    batch_id: str
    job_id: str


@dataclass
class _Carrier:
    """Dispatches waiting to be started together as one batch."""

    client: Client
    queue: str
    dead_letter_retention_days: float
    items: list[BatchItem] = field(default_factory=list)
    size: int = 0
    batch_id: str = field(default_factory=ids.new_carrier_id)
    started: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    sending: bool = False

    def has_room(self, size: int) -> bool:
        return len(self.items) < CARRIER_JOBS and self.size + size <= PAGE_BYTES


_CarrierKey = tuple[asyncio.AbstractEventLoop, Client, str, float]
_open: dict[_CarrierKey, _Carrier] = {}
_sending: set[asyncio.Task[None]] = set()
"""Carriers being started (the loop keeps only weak references to tasks)."""


async def dispatch_coalesced(
    client: Client, spec: JobSpec, payload_size: int, *, retention_days: float, window: float
) -> CoalescedPlace:
    """Add one job to the open carrier for its queue (opening one if needed) and wait for it."""
    size = payload_size + SPEC_OVERHEAD_BYTES
    loop = asyncio.get_running_loop()
    key = (loop, client, spec.policy.queue, retention_days)
    carrier = _open.get(key)
    if carrier is not None and not carrier.has_room(size):
        _send(key, carrier)
        carrier = None
    if carrier is None:
        carrier = _Carrier(client, spec.policy.queue, retention_days)
        _open[key] = carrier
        loop.call_later(window, _send, key, carrier)
    index = len(carrier.items)
    carrier.items.append(BatchItem(jobs=[spec]))
    carrier.size += size
    # Shielded: a caller that gives up must not cancel the start for the others.
    await asyncio.shield(carrier.started)
    job_id = ids.batch_job_id(ids.chunk_id(carrier.batch_id, 1), index)
    return CoalescedPlace(batch_id=carrier.batch_id, job_id=job_id)


def _send(key: _CarrierKey, carrier: _Carrier) -> None:
    """Close the carrier to new dispatches and start it (once, whichever trigger comes first)."""
    if _open.get(key) is carrier:
        del _open[key]
    if carrier.sending:
        return
    carrier.sending = True
    task = asyncio.get_running_loop().create_task(_start(carrier))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def _start(carrier: _Carrier) -> None:
    options = BatchOptions(
        name="coalesced dispatch",
        allow_failures=True,
        queue=carrier.queue,
        dead_letter_retention_days=carrier.dead_letter_retention_days,
    )
    batch = BatchInput(
        batch_id=carrier.batch_id,
        options=options,
        created_at=datetime.now(UTC),
        first_page=carrier.items,
        sealed=True,
        first_page_group_size=spread_group_size(carrier.items, True),
    )
    try:
        await start_batch(carrier.client, batch, summary=f"{len(carrier.items)} coalesced jobs")
    except Exception as error:
        carrier.started.set_exception(error)
        carrier.started.exception()  # marked as retrieved: every waiting dispatch re-raises it
    except BaseException:
        carrier.started.cancel()  # the loop is shutting down: the waiting dispatches end too
        raise
    else:
        carrier.started.set_result(None)
