"""``JobScheduler``: cron schedules of jobs, as Temporal Schedules.

```python
scheduler = JobScheduler()
await scheduler.schedule("app.jobs.DailyReport", "0 0 * * *")
await scheduler.schedule("app.jobs.WeeklyCleanup", "0 2 * * 1", timezone="Europe/London")
await scheduler.schedule("app.jobs.ProcessData", "0 */6 * * *", {"priority": "high", "timeout": 60})
```

Each due time the schedule starts a ``JobWorkflow``, exactly what ``dispatch()`` starts, with the
same search attributes, so a scheduled run retries, dead-letters and shows up like any job. Its
job id is the schedule id plus the due time (Temporal appends it), e.g.
``DailyReport-1a2b3c4d5e6f7a8b-2025-01-06T00:00:00Z``.

Everything is validated before anything is created: the cron expression and time zone
(:mod:`jobmodule.schedules.cron`), the job name (``UnknownJobError``), the payload (pydantic's
``ValidationError``) and the options (through the dispatch builder).

``schedule()`` is an upsert. Without ``id=`` the id is derived from the job name, cron
expression, payload and time zone, so calling it again with the same arguments (at every deploy,
say) updates the one schedule rather than adding a second; the options, overlap policy, jitter
and start/end are replaced. A pause and its note survive such a call unless ``paused=`` or
``note=`` is given.

What a schedule was asked for (job, cron as written, time zone, options) is kept in memos, so
``get()`` and ``list()`` show it as written: the schedule's own memo, set at creation (Temporal
cannot update it), marks it as a job schedule; the action's memo is rewritten on every update
(and so is also on every run it starts). JobScheduler reads, changes and operates only on the
schedules it created; any other id raises ``ScheduleNotFoundError``.

Overlap: a run counts as open until its ``JobWorkflow`` closes, and a dead-lettered job stays
open, parked, until it is retried, forgotten or expires; under the default ``skip`` policy that
holds back the schedule's later runs, much like Laravel's ``withoutOverlapping()``.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.workflowservice.v1 import ListScheduleMatchingTimesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from jobmodule.activities import JobModuleError
from jobmodule.connection import UsesClient, with_search_attributes
from jobmodule.schedules.cron import next_run_times
from jobmodule.schedules.listing import schedule_summaries
from jobmodule.schedules.models import (
    MEMO_KEY,
    OVERLAP_POLICIES,
    PRIORITY_NAMES,
    JobSchedule,
    OverlapName,
    ScheduleNotFoundError,
    ScheduleOptions,
    ScheduleRun,
    ScheduleSummary,
)
from jobmodule.schedules.plan import (
    JobRef,
    OptionsArg,
    aware,
    build_plan,
    default_schedule_id,
    not_found,
    overlap_policy,
    read_schedule,
    schedule_meta,
    scheduled_job_input,
)
from jobmodule.settings import JobSettings

__all__ = [
    "OVERLAP_POLICIES",
    "PRIORITY_NAMES",
    "JobSchedule",
    "JobScheduler",
    "ScheduleNotFoundError",
    "ScheduleOptions",
    "ScheduleRun",
    "default_schedule_id",
]

_MAX_SEARCH_SPAN = timedelta(days=366 * 200)
"""``next_runs`` gives up widening its search window past this (a schedule with an end)."""


class JobScheduler(UsesClient):
    """Create, inspect and operate job schedules on Temporal (``.using(client)`` to pick one).

    Args:
        settings: jobmodule settings for the scheduled runs (dead-letter retention).
    """

    def __init__(self, *, settings: JobSettings | None = None) -> None:
        self._settings = settings

    # -- creating and changing -----------------------------------------------------------------

    async def schedule(
        self,
        job: JobRef,
        cron: str,
        options: OptionsArg = None,
        *,
        payload: Mapping[str, Any] | None = None,
        id: str | None = None,
        timezone: str = "UTC",
        overlap: OverlapName | ScheduleOverlapPolicy = "skip",
        jitter: timedelta | float | None = None,
        paused: bool | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        note: str | None = None,
    ) -> JobSchedule:
        """Run ``job`` at the times ``cron`` matches; create the schedule or update it.

        Args:
            job: A job name, a Job class or a Job instance (which carries its payload).
            cron: A 5-field cron expression or a macro (``@daily``), see
                :mod:`jobmodule.schedules.cron`.
            options: Job options: queue, priority (1..5, or "high"=1, "default"=3, "low"=5),
                timeout, tries, backoff; the job class supplies what is not given.
            payload: The payload of every run, for a job name or class (default ``{}``).
            id: Schedule id; by default derived from job, cron, payload and time zone.
            timezone: IANA zone whose wall clock ``cron`` reads.
            overlap: What to do when a run is due while the last is open (OVERLAP_POLICIES).
            jitter: Start each run up to this much (seconds or timedelta) after its time.
            paused: Create it paused. On update, None keeps the current state.
            start_at: No run before this (naive: wall time in ``timezone``).
            end_at: No run after this (naive: wall time in ``timezone``).
            note: A note shown with the schedule (the pause note when paused).

        Raises:
            InvalidCronError, InvalidTimezoneError: Bad expression or zone.
            UnknownJobError: No job class by that name.
            pydantic.ValidationError: The payload or options do not validate.
        """
        plan = build_plan(
            job,
            cron,
            options,
            payload=payload,
            schedule_id=id,
            timezone=timezone,
            overlap=overlap,
            jitter=jitter,
            start_at=start_at,
            end_at=end_at,
            settings=self._settings,
        )
        client = await self.client()
        schedule = Schedule(
            action=plan.action,
            spec=plan.spec,
            policy=plan.policy,
            state=ScheduleState(paused=bool(paused), note=note),
        )
        try:
            await with_search_attributes(
                client,
                lambda: client.create_schedule(
                    plan.id, schedule, memo={MEMO_KEY: plan.meta.model_dump(mode="json")}
                ),
            )
        except ScheduleAlreadyRunningError:

            async def replace(update: ScheduleUpdateInput) -> ScheduleUpdate:
                current = update.description
                try:
                    await schedule_meta(client, current)
                except ScheduleNotFoundError:
                    raise JobModuleError(
                        f"Schedule id {plan.id!r} is taken by a schedule JobScheduler did not "
                        "create; pass another id="
                    ) from None
                state = current.schedule.state
                if paused is not None:
                    state.paused = paused
                if note is not None or paused is not None:
                    state.note = note
                return ScheduleUpdate(dataclasses.replace(schedule, state=state))

            with not_found(plan.id):
                await client.get_schedule_handle(plan.id).update(replace)
        return await self.get(plan.id)

    async def update(
        self,
        schedule_id: str,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        options: OptionsArg = None,
        payload: Mapping[str, Any] | None = None,
        overlap: OverlapName | ScheduleOverlapPolicy | None = None,
        jitter: timedelta | float | None = None,
    ) -> JobSchedule:
        """Change parts of a schedule; what is not given stays as it is.

        ``options`` are merged into the current ones; a ``None`` value drops that option (the
        job class's value applies again). The job class must be importable here, since the
        payload and options are validated against it again.
        """
        client = await self.client()

        async def change(update: ScheduleUpdateInput) -> ScheduleUpdate:
            current = update.description
            meta = await schedule_meta(client, current)
            job_input = await scheduled_job_input(client, current)
            merged = dict(meta.options)
            if options is not None:
                given = options if isinstance(options, Mapping) else options.given()
                merged.update(given)
                merged = {key: value for key, value in merged.items() if value is not None}
            spec = current.schedule.spec
            plan = build_plan(
                job_input.job,
                cron if cron is not None else meta.cron,
                merged,
                payload=payload if payload is not None else job_input.payload,
                schedule_id=schedule_id,
                timezone=timezone if timezone is not None else meta.timezone,
                overlap=overlap if overlap is not None else current.schedule.policy.overlap,
                jitter=jitter if jitter is not None else spec.jitter,
                start_at=spec.start_at,
                end_at=spec.end_at,
                settings=self._settings,
            )
            policy = dataclasses.replace(current.schedule.policy, overlap=plan.policy.overlap)
            return ScheduleUpdate(
                Schedule(
                    action=plan.action,
                    spec=plan.spec,
                    policy=policy,
                    state=current.schedule.state,
                )
            )

        with not_found(schedule_id):
            await client.get_schedule_handle(schedule_id).update(change)
        return await self.get(schedule_id)

    # -- reading -------------------------------------------------------------------------------

    async def get(self, schedule_id: str) -> JobSchedule:
        """The schedule as the server describes it now, with its latest runs' outcomes."""
        client = await self.client()
        return await read_schedule(client, await self._describe(client, schedule_id))

    async def list(
        self, *, limit: int | None = None, after: str | None = None
    ) -> builtins.list[JobSchedule]:
        """Every job schedule, by id; or one page of them: ``limit`` ids after ``after``.

        Temporal's schedule list is eventually consistent, so a schedule created or deleted a
        moment ago may be missing or still listed; each listed one is described afresh and
        those gone meanwhile are left out. Only the page's schedules are described.
        """
        client = await self.client()
        ids = sorted(
            {
                entry.id
                async for entry in await client.list_schedules()
                if MEMO_KEY in entry.raw_entry.memo.fields
            }
        )
        if after is not None:
            ids = [schedule_id for schedule_id in ids if schedule_id > after]
        if limit is not None:
            ids = ids[:limit]

        async def read(schedule_id: str) -> JobSchedule | None:
            try:
                return await self.get(schedule_id)
            except ScheduleNotFoundError:
                return None

        found = await asyncio.gather(*(read(schedule_id) for schedule_id in ids))
        return [schedule for schedule in found if schedule is not None]

    async def summaries(
        self, *, limit: int | None = None, after: str | None = None
    ) -> builtins.list[ScheduleSummary]:
        """Job schedules by id (a page: ``limit`` ids after ``after``), each as the schedule
        list shows it: cron in words, paused, next runs, the newest run's outcome.

        Much cheaper than ``list()``, which describes every schedule (a query to each
        schedule's workflow); payload, options and overlap are ``get()``'s. The list is
        eventually consistent: a pause shows a moment later here than in ``get()``.
        """
        return await schedule_summaries(await self.client(), limit=limit, after=after)

    async def next_runs(
        self, schedule_id: str, n: int = 10, *, after: datetime | None = None
    ) -> builtins.list[datetime]:
        """The next ``n`` times the server's spec matches, in the schedule's time zone.

        Read from the description when it lists enough (it lists 10), otherwise from the
        ``ListScheduleMatchingTimes`` RPC. ``after`` (exclusive; naive reads as wall time in
        the schedule's zone) starts the search elsewhere than now. Fewer than ``n`` come back
        only when the schedule's ``end_at`` comes first.
        """
        if n < 0:
            raise ValueError(f"n must be at least 0, got {n}")
        client = await self.client()
        description = await self._describe(client, schedule_id)
        zone = ZoneInfo(description.schedule.spec.time_zone_name or "UTC")
        known = description.info.next_action_times
        if after is None and n <= len(known):
            return [time.astimezone(zone) for time in known[:n]]
        start = aware(after, zone) if after is not None else datetime.now(zone)
        meta = await schedule_meta(client, description)
        try:  # croniter's n-th time is where the server's n-th time should be, too
            estimate = next_run_times(meta.cron, max(n, 1), timezone=meta.timezone, after=start)
            span = max(estimate[-1] - start, timedelta(minutes=1)) + timedelta(minutes=1)
        except JobModuleError:
            span = timedelta(days=1)
        times: builtins.list[datetime] = []
        while True:
            times = await self._matching_times(client, schedule_id, start, start + span)
            if len(times) >= n or span > _MAX_SEARCH_SPAN:
                return [time.astimezone(zone) for time in times[:n]]
            span *= 2

    # -- operating -----------------------------------------------------------------------------

    async def pause(self, schedule_id: str, *, note: str | None = None) -> None:
        """Stop starting runs (open runs go on) until ``resume``."""
        handle = await self._handle(schedule_id)
        with not_found(schedule_id):
            await handle.pause(note=note or "paused")

    async def resume(self, schedule_id: str, *, note: str | None = None) -> None:
        """Start runs again from the next due time (the missed ones are not made up)."""
        handle = await self._handle(schedule_id)
        with not_found(schedule_id):
            await handle.unpause(note=note or "resumed")

    async def trigger(self, schedule_id: str) -> None:
        """Start a run now, under the schedule's overlap policy (with ``skip``, not while the
        last run is open). Works on a paused schedule too.

        The run's job id is the schedule id plus the time to the second, so a second trigger in
        the same second starts nothing, whatever the overlap policy.
        """
        handle = await self._handle(schedule_id)
        with not_found(schedule_id):
            await handle.trigger()

    async def backfill(
        self,
        schedule_id: str,
        start: datetime,
        end: datetime,
        *,
        overlap: OverlapName | ScheduleOverlapPolicy | None = None,
    ) -> None:
        """Run every time the schedule matched after ``start`` up to ``end``, now.

        The runs fall under the overlap policy (the schedule's unless ``overlap`` is given): with
        ``skip`` only the first of a burst starts, with ``buffer_all`` or ``allow_all`` all do.
        Works on a paused schedule too. Naive datetimes read as wall time in the schedule's zone.
        """
        client = await self.client()
        description = await self._describe(client, schedule_id)
        zone = ZoneInfo(description.schedule.spec.time_zone_name or "UTC")
        start, end = aware(start, zone), aware(end, zone)
        if start >= end:
            raise ValueError(f"backfill start {start} must be before its end {end}")
        policy = overlap_policy(overlap) if overlap is not None else None
        with not_found(schedule_id):
            await client.get_schedule_handle(schedule_id).backfill(
                ScheduleBackfill(start_at=start, end_at=end, overlap=policy)
            )

    async def delete(self, schedule_id: str) -> None:
        """Delete the schedule; runs it started go on."""
        handle = await self._handle(schedule_id)
        with not_found(schedule_id):
            await handle.delete()

    # -- internals -----------------------------------------------------------------------------

    async def _handle(self, schedule_id: str) -> ScheduleHandle:
        """A handle on a job schedule; ScheduleNotFoundError if there is none by that id."""
        client = await self.client()
        await self._describe(client, schedule_id)
        return client.get_schedule_handle(schedule_id)

    async def _describe(self, client: Client, schedule_id: str) -> ScheduleDescription:
        with not_found(schedule_id):
            description = await client.get_schedule_handle(schedule_id).describe()
        await schedule_meta(client, description)  # raises if it is not a job schedule
        return description

    async def _matching_times(
        self, client: Client, schedule_id: str, start: datetime, end: datetime
    ) -> builtins.list[datetime]:
        start_time, end_time = Timestamp(), Timestamp()
        start_time.FromDatetime(start)
        end_time.FromDatetime(end)
        with not_found(schedule_id):
            response = await client.workflow_service.list_schedule_matching_times(
                ListScheduleMatchingTimesRequest(
                    namespace=client.namespace,
                    schedule_id=schedule_id,
                    start_time=start_time,
                    end_time=end_time,
                ),
                retry=True,
            )
        return [time.ToDatetime().replace(tzinfo=UTC) for time in response.start_time]
