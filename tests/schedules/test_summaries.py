"""``JobScheduler.summaries()``: pages of schedules read from the schedule list alone."""

from __future__ import annotations

import uuid

from temporalio.client import Client

from jobmodule.schedules import JobScheduler, ScheduleSummary
from tests.conftest import wait_until


async def summary(scheduler: JobScheduler, schedule_id: str) -> ScheduleSummary | None:
    rows = await scheduler.summaries()
    return next((row for row in rows if row.id == schedule_id), None)


async def test_summaries_page_by_id_and_follow_updates_and_pauses(client: Client, queue: str):
    scheduler = JobScheduler()
    prefix = f"sum-{uuid.uuid4().hex[:6]}"
    ids = [f"{prefix}-{i}" for i in range(3)]
    for schedule_id in ids:
        await scheduler.schedule(
            "tests.sample_jobs.Add", "0 3 * * *", {"queue": queue}, payload={"a": 1}, id=schedule_id
        )
    try:
        first = await wait_until(lambda: summary(scheduler, ids[0]))
        assert (first.job, first.cron, first.timezone) == (
            "tests.sample_jobs.Add",
            "0 3 * * *",
            "UTC",
        )
        assert first.description == "At 03:00" and not first.paused and first.last_run is None
        assert len(first.next_run_times) == 5
        page = await scheduler.summaries(limit=2, after=ids[0])
        assert [row.id for row in page][:2] == ids[1:]

        await scheduler.update(ids[1], cron="*/10 * * * *")
        await scheduler.pause(ids[2], note="maintenance")

        async def caught_up() -> bool:
            changed, paused = await summary(scheduler, ids[1]), await summary(scheduler, ids[2])
            return bool(changed and changed.cron == "*/10 * * * *" and paused and paused.paused)

        await wait_until(caught_up)
        paused = await summary(scheduler, ids[2])
        assert paused is not None and paused.note == "maintenance"
    finally:
        for schedule_id in ids:
            await scheduler.delete(schedule_id)
