"""A page of schedules as the list shows them: ``JobScheduler.summaries()``.

``JobScheduler.get()`` describes a schedule, which the server answers by querying the
schedule's own workflow (~7 ms each here, and they queue: 25 took ~190 ms). The schedule list
already carries what an overview needs (spec, paused and note, recent and next runs, and our
memo), so a summary costs no describe; only a schedule that has run costs one read, of its
newest run's status. The spec's comment carries the cron as last set (``update()`` cannot
change the schedule's own memo), so a changed cron reads as changed.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleListDescription

from jobmodule.activities import JobModuleError
from jobmodule.schedules.cron import describe_cron, validate_cron
from jobmodule.schedules.models import MEMO_KEY, ScheduleMeta, ScheduleRun, ScheduleSummary
from jobmodule.schedules.plan import NEXT_RUNS_SHOWN, run_outcome

CRON_COMMENT = "cron: "
"""How a calendar of our spec names its cron (``cron.cron_to_schedule_spec``)."""


async def schedule_entries(client: Client) -> dict[str, ScheduleListDescription]:
    """Every job schedule's list entry, by id (the list is eventually consistent)."""
    return {
        entry.id: entry
        async for entry in await client.list_schedules()
        if MEMO_KEY in entry.raw_entry.memo.fields
    }


def listed_cron(entry: ScheduleListDescription, meta: ScheduleMeta) -> str:
    """The cron the spec runs: as written when unchanged since creation, else the spec's own."""
    calendars = entry.schedule.spec.calendars if entry.schedule else []
    comment = (calendars[0].comment if calendars else None) or ""
    if not comment.startswith(CRON_COMMENT):
        return meta.cron
    current = comment.removeprefix(CRON_COMMENT).partition(" (")[0]
    try:
        unchanged = validate_cron(meta.cron) == current
    except JobModuleError:
        unchanged = False
    return meta.cron if unchanged else current


async def summary_of(client: Client, entry: ScheduleListDescription) -> ScheduleSummary:
    """One list entry as a ScheduleSummary, with its newest run's outcome."""
    meta = ScheduleMeta.model_validate(await entry.memo_value(MEMO_KEY))
    spec = entry.schedule.spec if entry.schedule else None
    timezone = (spec.time_zone_name if spec else None) or meta.timezone
    zone = ZoneInfo(timezone)
    cron = listed_cron(entry, meta)
    info = entry.info
    last_run = None
    if info and info.recent_actions:
        newest = info.recent_actions[-1]
        action = newest.action
        job_id = (
            action.workflow_id if isinstance(action, ScheduleActionExecutionStartWorkflow) else ""
        )
        last_run = ScheduleRun(
            time=newest.scheduled_at.astimezone(zone),
            started_at=newest.started_at.astimezone(zone),
            job_id=job_id,
            outcome=await run_outcome(client, job_id) if job_id else "unknown",
        )
    state = entry.schedule.state if entry.schedule else None
    return ScheduleSummary(
        id=entry.id,
        job=meta.job,
        cron=cron,
        timezone=timezone,
        description=describe_cron(cron),
        paused=bool(state and state.paused),
        note=state.note if state else None,
        next_run_times=[time.astimezone(zone) for time in (info.next_action_times if info else [])][
            :NEXT_RUNS_SHOWN
        ],
        last_run=last_run,
    )


async def schedule_summaries(
    client: Client, *, limit: int | None = None, after: str | None = None
) -> list[ScheduleSummary]:
    """Job schedules by id, ``limit`` of them after ``after``, read from the list alone."""
    entries = await schedule_entries(client)
    ids = sorted(schedule_id for schedule_id in entries if after is None or schedule_id > after)
    if limit is not None:
        ids = ids[:limit]
    return list(await asyncio.gather(*(summary_of(client, entries[i]) for i in ids)))
