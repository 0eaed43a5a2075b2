"""One activity-slot budget shared by a worker's queues, in Laravel's queue order or by weight.

``--queue high,default`` runs one Temporal worker per queue; left alone each would have its own
slots and poll side by side. Here they draw from one budget (``--concurrency``) through one
``CustomSlotSupplier`` (the SDK's worker tuner API), and the order decides who gets a freed slot:

* strict (``high,default``): the first queue that asks, in the order given;
* weighted (``high:3,default:1``): the asking queue furthest below its share of the budget, so
  3 of 4 slots go to ``high`` while both have work.

Temporal's core reserves a slot *before* it polls. A reserved slot that stays unused therefore
means that queue's poll is waiting: its backlog is empty. After ``IDLE_AFTER_SECONDS`` such a
reservation stops counting against the budget and its queue gets no more slots, so an idle
queue never holds slots another could use. The cost: a poll cannot be taken back, so when an
idle queue's poll does get a task while the others use the whole budget, the process runs one
task over its budget for that queue, for the length of that one task.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from temporalio.worker import (
    CustomSlotSupplier,
    SlotMarkUsedContext,
    SlotPermit,
    SlotReleaseContext,
    SlotReserveContext,
)

IDLE_AFTER_SECONDS = 0.3
"""A poll with a backlog returns in milliseconds; unused this long, its queue has none."""
STARTUP_GRACE_SECONDS = 2.0
"""A lower queue waits this long for a higher one's first poll, so a worker that starts on a
full queue does not hand its first slots to the lower queue only because it polled first."""


@dataclass(frozen=True)
class QueueShare:
    """A queue of ``--queue``, with its weight when one was given (``high:3``)."""

    name: str
    weight: float | None = None


def parse_queues(specs: Sequence[str]) -> list[QueueShare]:
    """``["high:3", "default"]`` -> shares; ValueError naming the form for a bad weight."""
    shares = []
    for spec in specs:
        name, _, weight = spec.partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"queue {spec!r} has no name; write NAME or NAME:WEIGHT")
        if not weight:
            shares.append(QueueShare(name))
            continue
        try:
            value = float(weight)
        except ValueError:
            value = 0.0
        if not value > 0:
            raise ValueError(f"queue weight in {spec!r} must be a number > 0, e.g. high:3")
        shares.append(QueueShare(name, value))
    names = [share.name for share in shares]
    if len(set(names)) != len(names):
        raise ValueError(f"a queue is named twice in {','.join(specs)}")
    return shares


class QueuePermit(SlotPermit):
    """A slot reserved for one queue's poll."""

    def __init__(self, queue: str, number: int, now: float) -> None:
        self.queue = queue
        self.number = number
        self.reserved_at = now
        self.used = False


class SharedSlotSupplier(CustomSlotSupplier):
    """Activity slots for several task queues of one process, from one budget."""

    def __init__(
        self,
        queues: Sequence[QueueShare],
        slots: int,
        *,
        idle_after: float = IDLE_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._order = [share.name for share in queues]
        self._weights = {share.name: share.weight or 1.0 for share in queues}
        self._weighted = any(share.weight is not None for share in queues)
        self._slots = slots
        self._idle_after = idle_after
        self._clock = clock
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self._used = dict.fromkeys(self._order, 0)
        self._reserved: dict[str, dict[int, QueuePermit]] = {name: {} for name in self._order}
        self._waiters: dict[str, deque[asyncio.Future[QueuePermit]]] = {
            name: deque() for name in self._order
        }
        self._seen: set[str] = set()
        self._first_ask: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- the SDK's interface (release and mark-used may come from the core's threads) ----------

    async def reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit:
        """Wait until this queue may poll, then hold a slot for the poll."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[QueuePermit] = loop.create_future()
        queue = self._queue_of(ctx)
        with self._lock:
            self._loop = loop
            self._note_ask(queue)
            self._waiters[queue].append(future)
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            with self._lock:
                if future in self._waiters[queue]:
                    self._waiters[queue].remove(future)
                    raise
            if future.done() and not future.cancelled():
                self._forget(future.result())  # granted just as the poller gave up
            raise

    def try_reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit | None:
        """An eager task: take a slot only if the queue would get the next one anyway."""
        queue = self._queue_of(ctx)
        with self._lock:
            now = self._clock()
            self._note_ask(queue)
            if self._occupancy(now) >= self._slots or self._pick(now, eager=queue) != queue:
                return None
            return self._grant_locked(queue, now)

    def mark_slot_used(self, ctx: SlotMarkUsedContext) -> None:
        """The poll got a task: the slot now runs it."""
        permit = ctx.permit
        if not isinstance(permit, QueuePermit):
            return
        with self._lock:
            if self._reserved[permit.queue].pop(permit.number, None) is not None:
                permit.used = True
                self._used[permit.queue] += 1

    def release_slot(self, ctx: SlotReleaseContext) -> None:
        """The task finished (or the poll was given up): the slot goes to whoever is next."""
        if isinstance(ctx.permit, QueuePermit):
            self._forget(ctx.permit)

    # -- the policy ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, tuple[int, int, int]]:
        """Per queue: slots running a task, reserved by a poll, and polls waiting for a slot."""
        with self._lock:
            return {
                name: (self._used[name], len(self._reserved[name]), len(self._waiters[name]))
                for name in self._order
            }

    def _queue_of(self, ctx: SlotReserveContext) -> str:
        queue = ctx.task_queue
        if queue not in self._used:  # not one of ours: give it a place at the end
            with self._lock:
                self._order.append(queue)
                self._weights[queue] = 1.0
                self._used[queue] = 0
                self._reserved[queue] = {}
                self._waiters[queue] = deque()
        return queue

    def _note_ask(self, queue: str) -> None:
        self._seen.add(queue)
        if self._first_ask is None:
            self._first_ask = self._clock()

    def _idle(self, permit: QueuePermit, now: float) -> bool:
        return now - permit.reserved_at >= self._idle_after

    def _has_idle(self, queue: str, now: float) -> bool:
        return any(self._idle(permit, now) for permit in self._reserved[queue].values())

    def _occupancy(self, now: float) -> int:
        """Slots in use plus polls that may still bring a task (idle polls do not count)."""
        busy = sum(self._used.values())
        polling = sum(
            1
            for reserved in self._reserved.values()
            for permit in reserved.values()
            if not self._idle(permit, now)
        )
        return busy + polling

    def _pick(self, now: float, *, eager: str | None = None) -> str | None:
        """The queue the next slot goes to, or None when no queue should poll more."""
        asking = [
            name
            for name in self._order
            if (self._waiters[name] or name == eager) and not self._has_idle(name, now)
        ]
        if not asking:
            return None
        if self._weighted:
            return min(
                asking,
                key=lambda name: (
                    self._share(name, now) / self._weights[name],
                    self._order.index(name),
                ),
            )
        for name in self._order:
            if name in asking:
                return name
            starting = self._first_ask is not None and now - self._first_ask < STARTUP_GRACE_SECONDS
            if name not in self._seen and starting:
                return None  # a higher queue has not polled yet: it may have a backlog
        return None

    def _share(self, queue: str, now: float) -> int:
        polling = sum(1 for p in self._reserved[queue].values() if not self._idle(p, now))
        return self._used[queue] + polling

    def _grant_locked(self, queue: str, now: float) -> QueuePermit:
        permit = QueuePermit(queue, next(self._numbers), now)
        self._reserved[queue][permit.number] = permit
        return permit

    def _dispatch(self) -> None:
        """Hand free slots to waiting polls, best first; re-check when a poll may turn idle."""
        grants: list[tuple[asyncio.Future[QueuePermit], QueuePermit]] = []
        with self._lock:
            now = self._clock()
            while self._occupancy(now) < self._slots:
                queue = self._pick(now)
                if queue is None:
                    break
                future = self._waiters[queue].popleft()
                if future.cancelled():
                    continue
                grants.append((future, self._grant_locked(queue, now)))
            blocked = any(self._waiters.values())
            loop = self._loop
        for future, permit in grants:
            self._resolve(future, permit)
        if blocked and loop is not None:
            loop.call_soon_threadsafe(self._arm_timer)

    def _resolve(self, future: asyncio.Future[QueuePermit], permit: QueuePermit) -> None:
        loop = future.get_loop()

        def deliver() -> None:
            if future.cancelled():
                self._forget(permit)
            else:
                future.set_result(permit)

        loop.call_soon_threadsafe(deliver)

    def _arm_timer(self) -> None:
        """On the loop: wake ``_dispatch`` when the oldest unused reservation turns idle."""
        if self._timer is not None and not self._timer.cancelled():
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._idle_after / 2, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    def _forget(self, permit: QueuePermit) -> None:
        with self._lock:
            if permit.used:
                permit.used = False
                self._used[permit.queue] -= 1
            else:
                self._reserved[permit.queue].pop(permit.number, None)
        self._dispatch()
