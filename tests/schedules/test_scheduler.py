"""JobScheduler and ``jobmodule schedule`` against the session's real dev server.

Each test uses schedule ids of its own (uuid) and deletes its schedules afterwards. Schedules
that must not fire during a test use crons far from "now" or are paused.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from rich.console import Console
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleState,
)

from jobmodule import JobHandle, JobModuleError, UnknownJobError
from jobmodule.cli import schedules as cli_schedule
from jobmodule.cli.schedules import add_schedule_commands
from jobmodule.schedules.cron import InvalidCronError, InvalidTimezoneError, next_run_times
from jobmodule.schedules.scheduler import JobSchedule, JobScheduler, ScheduleNotFoundError
from jobmodule.workflows import JOB_CLASS, JOB_QUEUE, JOB_STATUS, JobInput
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, wait_until


class Schedules:
    """Hands out fresh schedule ids and remembers every id to delete at teardown."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def new_id(self) -> str:
        return self.track(f"test-{uuid.uuid4().hex[:12]}")

    def track(self, schedule_id: str) -> str:
        self.ids.append(schedule_id)
        return schedule_id


@pytest.fixture
def scheduler(client: Client) -> JobScheduler:
    return JobScheduler().using(client)


@pytest.fixture
async def schedules(scheduler: JobScheduler) -> AsyncIterator[Schedules]:
    tracked = Schedules()
    yield tracked
    for schedule_id in tracked.ids:
        try:
            await scheduler.delete(schedule_id)
        except ScheduleNotFoundError:
            pass


async def listed(scheduler: JobScheduler, schedule_id: str) -> list[JobSchedule]:
    return [s for s in await scheduler.list() if s.id == schedule_id]


async def test_create_get_pause_resume_update_list_and_delete(
    scheduler: JobScheduler, schedules: Schedules, queue: str
):
    schedule_id = schedules.new_id()
    created = await scheduler.schedule(
        "tests.sample_jobs.Add",
        "0 2 * * 1",
        {"queue": queue, "priority": "high"},
        payload={"a": 1},
        id=schedule_id,
        timezone="Europe/London",
    )
    assert created.id == schedule_id
    assert created.job == "tests.sample_jobs.Add"
    assert (created.cron, created.timezone) == ("0 2 * * 1", "Europe/London")
    assert created.description == "At 02:00, only on Monday"
    assert created.payload == {"a": 1, "b": 0}
    assert created.options == {"queue": queue, "priority": 1}
    assert (created.overlap, created.paused, created.recent_runs) == ("skip", False, [])
    assert created.next_run_times == next_run_times("0 2 * * 1", 5, timezone="Europe/London")
    assert all(t.tzinfo == ZoneInfo("Europe/London") for t in created.next_run_times)

    await scheduler.pause(schedule_id, note="maintenance")
    paused = await scheduler.get(schedule_id)
    assert (paused.paused, paused.note) == (True, "maintenance")
    await scheduler.resume(schedule_id)
    assert (await scheduler.get(schedule_id)).paused is False

    updated = await scheduler.update(
        schedule_id, cron="30 3 * * *", options={"priority": None, "tries": 3}
    )
    assert (updated.cron, updated.timezone) == ("30 3 * * *", "Europe/London")
    assert updated.options == {"queue": queue, "tries": 3}
    assert updated.next_run_times == next_run_times("30 3 * * *", 5, timezone="Europe/London")
    moved = await scheduler.update(schedule_id, timezone="Asia/Tokyo", payload={"a": 5})
    assert (moved.cron, moved.timezone, moved.payload) == (
        "30 3 * * *",
        "Asia/Tokyo",
        {"a": 5, "b": 0},
    )
    assert moved.created_at == created.created_at

    [in_list] = await wait_until(lambda: listed(scheduler, schedule_id), timeout=10)
    assert in_list.cron == "30 3 * * *" and in_list.timezone == "Asia/Tokyo"

    await scheduler.delete(schedule_id)
    with pytest.raises(ScheduleNotFoundError):
        await scheduler.get(schedule_id)
    await wait_until(lambda: _gone(scheduler, schedule_id), timeout=10)


async def _gone(scheduler: JobScheduler, schedule_id: str) -> bool:
    return not await listed(scheduler, schedule_id)


async def test_schedule_options_reach_the_temporal_schedule(
    scheduler: JobScheduler, schedules: Schedules, client: Client
):
    schedule_id = schedules.new_id()
    await scheduler.schedule(
        jobs.Add(a=3),
        "15 4 * * *",
        {"timeout": 90, "backoff": [1, 5], "tries": 2},
        id=schedule_id,
        timezone="Asia/Tokyo",
        overlap="buffer_one",
        jitter=30,
        start_at=datetime(2030, 1, 1),
        end_at=datetime(2031, 1, 1, tzinfo=UTC),
        paused=True,
        note="not yet",
    )
    described = (await client.get_schedule_handle(schedule_id).describe()).schedule
    assert described.spec.jitter == timedelta(seconds=30)
    assert described.spec.start_at == datetime(2030, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert described.spec.end_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert described.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
    assert (described.state.paused, described.state.note) == (True, "not yet")
    action = described.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue, action.id) == (
        "JobWorkflow",
        "default",
        schedule_id,
    )
    [job_input] = await client.data_converter.decode(list(action.args), [JobInput])
    assert job_input.policy.timeout == 90 and job_input.policy.backoff == [1.0, 5.0]
    assert job_input.policy.tries == 2 and job_input.payload == {"a": 3, "b": 0}

    runs = await scheduler.next_runs(schedule_id, 3)  # start_at is in 2030
    assert runs[0] >= datetime(2030, 1, 1, 4, 15, tzinfo=ZoneInfo("Asia/Tokyo"))

    await scheduler.update(schedule_id, overlap="allow_all")
    described = (await client.get_schedule_handle(schedule_id).describe()).schedule
    assert described.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
    assert described.spec.jitter == timedelta(seconds=30)
    assert described.spec.end_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert (described.state.paused, described.state.note) == (True, "not yet")


async def test_scheduling_the_same_job_and_cron_again_updates_it(
    scheduler: JobScheduler, schedules: Schedules
):
    payload = {"a": random.randrange(10**9)}
    first = await scheduler.schedule(jobs.Add, "@daily", payload=payload)
    schedules.track(first.id)
    assert first.id.startswith("Add-")
    await scheduler.pause(first.id, note="held by an operator")

    # Same job, cron (a macro and its expansion are one schedule), payload and zone: same id.
    again = await scheduler.schedule(jobs.Add(**payload), "0 0 * * *", {"tries": 4})
    assert again.id == first.id
    assert again.options == {"tries": 4} and again.cron == "0 0 * * *"
    assert (again.paused, again.note) == (True, "held by an operator")  # a pause survives
    assert again.created_at == first.created_at

    other = await scheduler.schedule(jobs.Add, "@daily", payload={"a": payload["a"] + 1})
    schedules.track(other.id)
    assert other.id != first.id

    def mine(found: list[JobSchedule]) -> list[JobSchedule]:
        return [
            s for s in found if s.job == "tests.sample_jobs.Add" and s.payload["a"] == payload["a"]
        ]

    async def listed_once() -> bool:
        return (
            len(mine(await scheduler.list())) == 1 and len(await listed(scheduler, other.id)) == 1
        )

    await wait_until(listed_once, timeout=10)
    [only] = mine(await scheduler.list())
    assert only.id == first.id and only.options == {"tries": 4}


async def test_trigger_runs_the_job_and_it_shows_in_recent_runs(
    scheduler: JobScheduler, schedules: Schedules, queue: str, worker: WorkerFactory, client: Client
):
    schedule_id = schedules.new_id()
    await scheduler.schedule(
        jobs.Add, "0 0 1 1 *", {"queue": queue}, payload={"a": 2, "b": 3}, id=schedule_id
    )
    await scheduler.pause(schedule_id)  # a trigger runs the job even so
    async with worker(queue):
        await scheduler.trigger(schedule_id)

        async def succeeded() -> JobSchedule | None:
            schedule = await scheduler.get(schedule_id)
            done = schedule.recent_runs and schedule.recent_runs[0].outcome == "succeeded"
            return schedule if done else None

        schedule = await wait_until(succeeded, timeout=15)
    [run] = schedule.recent_runs
    assert run.job_id.startswith(f"{schedule_id}-")
    assert schedule.last_outcome == "succeeded"
    assert await JobHandle(id=run.job_id, client=client).result() == 5
    run_description = await client.get_workflow_handle(run.job_id).describe()
    attributes = run_description.typed_search_attributes
    assert attributes.get(JOB_CLASS) == "tests.sample_jobs.Add"
    assert attributes.get(JOB_QUEUE) == queue
    assert attributes.get(JOB_STATUS) == "succeeded"
    assert await run_description.static_summary() == f"Add(a=2, b=3) · schedule {schedule_id}"


async def test_overlap_skip_starts_only_one_run_while_one_is_open(
    scheduler: JobScheduler, schedules: Schedules, queue: str, worker: WorkerFactory, client: Client
):
    schedule_id = schedules.new_id()
    token = f"overlap-{schedule_id}"
    await scheduler.schedule(
        jobs.Sleeps,
        "0 0 1 1 *",
        {"queue": queue},
        payload={"seconds": 3, "token": token},
        id=schedule_id,
        overlap="skip",
    )
    async with worker(queue):
        await scheduler.trigger(schedule_id)
        await scheduler.trigger(schedule_id)

        async def settled() -> JobSchedule | None:
            schedule = await scheduler.get(schedule_id)
            done = schedule.recent_runs and schedule.recent_runs[0].outcome == "succeeded"
            return schedule if done else None

        schedule = await wait_until(settled, timeout=20)
    assert len(schedule.recent_runs) == 1
    assert len(jobs.attempt_times[token]) == 1
    description = await client.get_schedule_handle(schedule_id).describe()
    assert description.info.num_actions == 1
    assert description.info.num_actions_skipped_overlap == 1


async def test_backfill_runs_the_past_fire_times(
    scheduler: JobScheduler, schedules: Schedules, queue: str, worker: WorkerFactory
):
    schedule_id = schedules.new_id()
    await scheduler.schedule(
        jobs.Add, "0 12 1 1 *", {"queue": queue}, payload={"a": 1}, id=schedule_id
    )
    async with worker(queue):
        await scheduler.backfill(
            schedule_id,
            datetime(2020, 12, 31),
            datetime(2022, 1, 2),
            overlap="allow_all",
        )

        async def both_succeeded() -> JobSchedule | None:
            schedule = await scheduler.get(schedule_id)
            outcomes = [run.outcome for run in schedule.recent_runs]
            return schedule if outcomes == ["succeeded", "succeeded"] else None

        schedule = await wait_until(both_succeeded, timeout=15)
    assert sorted(run.time for run in schedule.recent_runs) == [
        datetime(2021, 1, 1, 12, tzinfo=UTC),
        datetime(2022, 1, 1, 12, tzinfo=UTC),
    ]


async def test_next_runs_come_from_the_server_and_match_croniter(
    scheduler: JobScheduler, schedules: Schedules
):
    schedule_id = schedules.new_id()
    zone = "America/New_York"
    await scheduler.schedule(
        jobs.Add, "0 3 * * *", payload={"a": 1}, id=schedule_id, timezone=zone, paused=True
    )
    assert await scheduler.next_runs(schedule_id, 10) == next_run_times(
        "0 3 * * *", 10, timezone=zone
    )
    # More than the description lists: ListScheduleMatchingTimes, across both DST changes.
    after = datetime(2026, 1, 1)
    runs = await scheduler.next_runs(schedule_id, 400, after=after)
    assert runs == next_run_times("0 3 * * *", 400, timezone=zone, after=after)
    assert all(run.tzinfo == ZoneInfo(zone) for run in runs)


@pytest.mark.parametrize(
    ("job", "cron", "kwargs", "error"),
    [
        ("tests.sample_jobs.Add", "61 * * * *", {}, InvalidCronError),
        ("tests.sample_jobs.Add", "* * *", {}, InvalidCronError),
        ("tests.sample_jobs.Add", "0 0 31 2 *", {}, InvalidCronError),
        ("tests.sample_jobs.Add", "0 0 * * *", {"timezone": "Mars/Olympus"}, InvalidTimezoneError),
        ("tests.sample_jobs.Ad", "0 0 * * *", {}, UnknownJobError),
        ("tests.sample_jobs.Add", "0 0 * * *", {"payload": {"a": "x"}}, ValidationError),
        ("tests.sample_jobs.Add", "0 0 * * *", {"payload": {}}, ValidationError),
        (
            "tests.sample_jobs.Add",
            "0 0 * * *",
            {"options": {"priority": "urgent"}},
            ValidationError,
        ),
        ("tests.sample_jobs.Add", "0 0 * * *", {"options": {"tries": 0}}, ValidationError),
        ("tests.sample_jobs.Add", "0 0 * * *", {"options": {"colour": "red"}}, ValidationError),
        ("tests.sample_jobs.Add", "0 0 * * *", {"overlap": "sometimes"}, ValueError),
    ],
)
async def test_bad_input_raises_and_creates_nothing(
    scheduler: JobScheduler,
    schedules: Schedules,
    job: str,
    cron: str,
    kwargs: dict[str, Any],
    error: type[Exception],
):
    schedule_id = schedules.new_id()
    kwargs = {"payload": {"a": 1}, **kwargs}
    options = kwargs.pop("options", None)
    with pytest.raises(error):
        await scheduler.schedule(job, cron, options, id=schedule_id, **kwargs)
    with pytest.raises(ScheduleNotFoundError):
        await scheduler.get(schedule_id)


async def test_unknown_schedule_id_raises_schedule_not_found(scheduler: JobScheduler):
    missing = f"missing-{uuid.uuid4().hex}"
    operations: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: scheduler.get(missing),
        "pause": lambda: scheduler.pause(missing),
        "resume": lambda: scheduler.resume(missing),
        "trigger": lambda: scheduler.trigger(missing),
        "delete": lambda: scheduler.delete(missing),
        "update": lambda: scheduler.update(missing, cron="0 0 * * *"),
        "next_runs": lambda: scheduler.next_runs(missing, 3),
        "backfill": lambda: scheduler.backfill(missing, datetime(2020, 1, 1), datetime(2021, 1, 1)),
    }
    for name, operation in operations.items():
        with pytest.raises(ScheduleNotFoundError, match=missing) as raised:
            await operation()
        assert isinstance(raised.value, LookupError), name


async def test_cli_add_list_show_pause_and_delete(
    server_address: str,
    schedules: Schedules,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("TEMPORAL_ADDRESS", server_address)
    monkeypatch.setattr(cli_schedule, "console", Console(width=250))
    parser = argparse.ArgumentParser(prog="jobs")
    add_schedule_commands(parser.add_subparsers(dest="command", required=True))
    schedule_id = schedules.new_id()

    async def jobs_cli(*argv: str) -> str:
        args = parser.parse_args(argv)
        assert await args.handler(args) == 0
        return capsys.readouterr().out

    added = json.loads(
        await jobs_cli(
            "schedule", "add", "tests.sample_jobs.Add", "0 2 * * 1", "--payload", '{"a": 7}',
            "--tz", "Europe/London", "--queue", "reports", "--id", schedule_id, "--json",
        )
    )  # fmt: skip
    assert added["id"] == schedule_id
    assert added["description"] == "At 02:00, only on Monday"
    assert added["options"] == {"queue": "reports"}

    async def in_list() -> bool:
        rows = json.loads(await jobs_cli("schedule", "list", "--json"))
        return any(row["id"] == schedule_id for row in rows)

    await wait_until(in_list, timeout=10)
    table = await jobs_cli("schedule", "list")
    [row] = [line for line in table.splitlines() if schedule_id in line]
    assert "tests.sample_jobs.Add" in row and "At 02:00, only on Monday" in row and "no" in row

    await jobs_cli("schedule", "pause", schedule_id, "--note", "holiday")
    shown = json.loads(await jobs_cli("schedule", "show", schedule_id, "--json"))
    assert (shown["paused"], shown["note"]) == (True, "holiday")
    assert "yes (holiday)" in await jobs_cli("schedule", "show", schedule_id)

    assert "deleted" in await jobs_cli("schedule", "delete", schedule_id)
    args = parser.parse_args(["schedule", "show", schedule_id])
    with pytest.raises(ScheduleNotFoundError):
        await args.handler(args)


async def test_a_schedule_jobscheduler_did_not_create_is_left_alone(
    scheduler: JobScheduler, schedules: Schedules, client: Client
):
    schedule_id = schedules.new_id()
    handle = await client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow("Other", id="other", task_queue="nowhere"),
            spec=ScheduleSpec(),
            state=ScheduleState(paused=True),
        ),
    )
    try:
        for operation in (scheduler.get, scheduler.pause, scheduler.trigger, scheduler.delete):
            with pytest.raises(ScheduleNotFoundError, match="not created by JobScheduler"):
                await operation(schedule_id)
        with pytest.raises(JobModuleError, match="taken by a schedule JobScheduler did not"):
            await scheduler.schedule(jobs.Add, "@daily", payload={"a": 1}, id=schedule_id)
        action = (await handle.describe()).schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "Other"
    finally:
        await handle.delete()
