"""``LimiterWorkflow``: one rate/concurrency limit or overlap lock, held for the whole cluster.

One execution per job class (``jobmodule-limit:<job>``) or per overlap key
(``jobmodule-lock:<job>:<key>``). Jobs send ``acquire`` (signal-with-start, through the
``request_permit`` activity) and ``release`` signals; the limiter grants waiting requests by
priority key, then arrival, whenever a concurrency slot and a rate token are free, and signals
each grant back to the job's workflow. Rates are a token bucket of N tokens refilled N per
period, so ``"4/s"`` lets 4 start at once and then one every 250 ms.

A permit is leased for its attempt's timeout plus a minute; when a lease runs out the limiter
asks visibility whether the holder still runs, and frees it if not (a terminated job cannot
release). A worker that dies mid-attempt frees nothing by itself: its attempt times out, and
the job's workflow releases the permit then, as for any failed attempt.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities import (
        LimitConfig,
        OpenHoldersInput,
        PermitGrant,
        PermitRelease,
        PermitRequest,
        Rate,
        open_holders,
        parse_rate,
    )
    from jobmodule.activities.limits import PERMIT_GRANTED_SIGNAL

IDLE_CLOSE = timedelta(minutes=5)
"""A limiter with no holder and no waiter closes after this (or its rate period, if longer)."""
CONTINUE_AS_NEW_EVENTS = 5_000
"""About 13 events per permit (signals in and out, workflow tasks): a new run every ~400."""
RELEASED_MEMORY = 1_000
"""Request ids released lately: a duplicate acquire (a retried request) is not granted twice."""
CHECK_TIMEOUT = timedelta(seconds=30)


class Holder(BaseModel):
    """A granted permit of a concurrency limit."""

    request_id: str
    workflow_id: str
    run_id: str
    expires_at: datetime
    lease_seconds: float


class Waiting(BaseModel):
    """A request not yet granted, with its arrival number."""

    request: PermitRequest
    seq: int


class LimiterState(BaseModel):
    """Everything a limiter carries across continue-as-new."""

    config: LimitConfig = Field(default_factory=LimitConfig)
    holders: dict[str, Holder] = Field(default_factory=dict)
    waiting: list[Waiting] = Field(default_factory=list)
    seq: int = 0
    tokens: float | None = None
    """Rate tokens left; None means a full bucket."""
    refilled_at: datetime | None = None
    released: list[str] = Field(default_factory=list)


@workflow.defn(name="LimiterWorkflow")
class LimiterWorkflow:
    """Grants permits of one limit to jobs on every worker."""

    def __init__(self) -> None:
        self._state = LimiterState()
        self._released: deque[str] = deque(maxlen=RELEASED_MEMORY)
        self._changed = False

    @workflow.run
    async def run(self, state: LimiterState | None = None) -> None:
        if state is not None:
            self._state = state
            self._released.extend(state.released)
        idle_since = workflow.now()
        while True:
            self._changed = False
            now = workflow.now()
            self._refill(now)
            await self._expire_leases(now)
            grants = self._take_grantable(workflow.now())
            if grants:
                await asyncio.gather(*(self._send_grant(request) for request in grants))
            if workflow.info().get_current_history_length() > CONTINUE_AS_NEW_EVENTS:
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._state.released = list(self._released)
                workflow.continue_as_new(self._state)
            busy = bool(self._state.holders or self._state.waiting)
            if busy:
                idle_since = workflow.now()
            timeout = self._next_wakeup(workflow.now(), idle_since)
            if self._changed:
                continue
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            except TimeoutError:
                if not busy and workflow.now() - idle_since >= self._idle_close():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    if not (self._state.holders or self._state.waiting):
                        return

    # -- signals -------------------------------------------------------------------------------

    @workflow.signal(name="acquire")
    def acquire(self, request: PermitRequest) -> None:
        """Queue a request (the newest request's config becomes the limiter's)."""
        self._changed = True
        self._state.config = request.config
        rid = request.request_id
        if rid in self._state.holders or rid in self._released:
            return
        if any(w.request.request_id == rid for w in self._state.waiting):
            return
        self._state.seq += 1
        self._state.waiting.append(Waiting(request=request, seq=self._state.seq))

    @workflow.signal(name="release")
    def release(self, release: PermitRelease) -> None:
        """Free a permit, or drop a request that is still waiting (its job was cancelled)."""
        self._changed = True
        rid = release.request_id
        self._released.append(rid)
        self._state.holders.pop(rid, None)
        self._state.waiting = [w for w in self._state.waiting if w.request.request_id != rid]

    @workflow.query(name="state")
    def state(self) -> LimiterState:
        """Holders, waiters and tokens, for operators and tests."""
        return self._state

    # -- the limit -----------------------------------------------------------------------------

    def _refill(self, now: datetime) -> None:
        rate = self._rate()
        if rate is None or self._state.tokens is None or self._state.refilled_at is None:
            self._state.refilled_at = now
            return
        elapsed = (now - self._state.refilled_at).total_seconds()
        self._state.tokens = min(float(rate.count), self._state.tokens + elapsed / rate.interval)
        self._state.refilled_at = now
        if self._state.tokens >= rate.count:
            self._state.tokens = None

    def _take_grantable(self, now: datetime) -> list[PermitRequest]:
        """Waiting requests that may go now, best priority first; their permits are taken."""
        config, rate = self._state.config, self._rate()
        granted: list[PermitRequest] = []
        for waiting in sorted(self._state.waiting, key=lambda w: (w.request.priority, w.seq)):
            if config.max_concurrency is not None and (
                len(self._state.holders) >= config.max_concurrency
            ):
                break
            if rate is not None:
                tokens = float(rate.count) if self._state.tokens is None else self._state.tokens
                if tokens < 1:
                    break
                self._state.tokens = tokens - 1
            request = waiting.request
            if config.max_concurrency is not None:
                self._state.holders[request.request_id] = Holder(
                    request_id=request.request_id,
                    workflow_id=request.workflow_id,
                    run_id=request.run_id,
                    expires_at=now + timedelta(seconds=request.lease_seconds),
                    lease_seconds=request.lease_seconds,
                )
            granted.append(request)
        taken = {request.request_id for request in granted}
        self._state.waiting = [w for w in self._state.waiting if w.request.request_id not in taken]
        return granted

    async def _send_grant(self, request: PermitRequest) -> None:
        limiter_id = workflow.info().workflow_id
        handle = workflow.get_external_workflow_handle(request.workflow_id, run_id=request.run_id)
        try:
            await handle.signal(
                PERMIT_GRANTED_SIGNAL,
                PermitGrant(request_id=request.request_id, limiter_id=limiter_id),
            )
        except Exception as error:
            # Only a closed workflow refuses the signal: nobody is left to use or release it.
            workflow.logger.info("permit %s not delivered: %s", request.request_id, error)
            self._state.holders.pop(request.request_id, None)
            self._changed = True

    async def _expire_leases(self, now: datetime) -> None:
        expired = [h for h in self._state.holders.values() if h.expires_at <= now]
        if not expired:
            return
        alive = set(
            await workflow.execute_local_activity(
                open_holders,
                OpenHoldersInput(holders=[(h.workflow_id, h.run_id) for h in expired]),
                start_to_close_timeout=CHECK_TIMEOUT,
                retry_policy=RetryPolicy(maximum_interval=CHECK_TIMEOUT),
            )
        )
        for holder in expired:
            if holder.request_id not in self._state.holders:
                continue  # released while we asked
            if holder.run_id in alive:
                holder.expires_at = workflow.now() + timedelta(seconds=holder.lease_seconds)
            else:
                workflow.logger.warning("freeing the permit of closed job %s", holder.workflow_id)
                del self._state.holders[holder.request_id]
                self._changed = True

    def _next_wakeup(self, now: datetime, idle_since: datetime) -> timedelta:
        """When the state changes by itself: a token, a lease's end, or the idle close."""
        candidates: list[datetime] = [h.expires_at for h in self._state.holders.values()]
        rate = self._rate()
        if rate is not None and self._state.waiting and self._state.tokens is not None:
            missing = max(0.0, 1 - self._state.tokens)
            candidates.append(now + timedelta(seconds=missing * rate.interval))
        if not (self._state.holders or self._state.waiting):
            candidates.append(idle_since + self._idle_close())
        if not candidates:
            return self._idle_close()
        return max(min(candidates) - now, timedelta(milliseconds=1))

    def _idle_close(self) -> timedelta:
        rate = self._rate()
        return max(IDLE_CLOSE, timedelta(seconds=rate.per)) if rate else IDLE_CLOSE

    def _rate(self) -> Rate | None:
        text = self._state.config.rate
        return parse_rate(text) if text else None
