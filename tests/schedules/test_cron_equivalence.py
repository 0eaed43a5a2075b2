"""jobmodule.schedules.cron against a real server: our ScheduleSpec fires when croniter does.

Temporal's fire times come from ListScheduleMatchingTimes, which needs an existing schedule, so
each case creates a paused schedule (its own uuid id) whose action could never run, reads the
times and deletes it. The window starts after ``after`` (exclusive, like croniter) and ends at
croniter's last run (inclusive, as the server treats ``end_time``).

The second half checks ``client.cron_calendar``'s replay of Temporal's matcher against the server
on DST days, including the expression/zone pairs ``cron_to_schedule_spec`` rejects: a rejection
must be a real disagreement between croniter and the server, and an acceptance a real agreement.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.workflowservice.v1 import ListScheduleMatchingTimesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)

from jobmodule.schedules.cron import (
    InvalidCronError,
    cron_to_schedule_spec,
    next_run_times,
    validate_cron,
)
from jobmodule.schedules.cron_calendar import CalendarSets, cron_times, temporal_times, transitions

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    expression: str
    timezone: str = "UTC"
    n: int = 50
    dst: str | None = None
    """Either "forward" or "back": start ``lead`` before the zone's next such change."""
    lead: timedelta = timedelta(hours=12)

    def __str__(self) -> str:
        return f"{self.expression} [{self.timezone}{f' {self.dst}' if self.dst else ''}]"


CORPUS = [
    Case("0 0 1 * 1"),
    Case("*/15 9-17 * * 1-5"),
    Case("0 0 1,15 * 5"),
    Case("5 4 * * 0,7"),
    Case("0 */6 * * *"),
    Case("0 0 29 2 *", n=12),
    Case("0 12 * JAN-MAR MON"),
    Case("@weekly"),
    Case("@monthly"),
    Case("@yearly", n=20),
    Case("@annually", n=5),
    Case("@daily"),
    Case("@midnight"),
    Case("@hourly"),
    Case("10-50/20 * * * *"),
    Case("0 0 */2 * *"),
    Case("0 0 */2 * 1"),
    Case("0 0 1-7 * 1"),
    Case("0 0 1-31 * 1"),
    Case("0 0 1 * 0-6"),
    Case("0 0 31 * *"),
    Case("0 0 31 2 1"),
    Case("30 23 28-31 * *"),
    Case("0 22-2 * * *"),
    Case("0 9 * * FRI-MON"),
    Case("0 0 * 11-2 *"),
    Case("7/20 * * * *"),
    Case("59/15 * * * *"),
    Case("*/7 */5 * * *"),
    Case("0 0 1 APR-JAN/3 *"),
    Case("0 12 * * 1-5/2"),
    Case("15 14 1 * *"),
    Case("0 0,12 1 */2 *"),
    Case("*/15 * * * *", "America/New_York", dst="forward"),
    Case("*/15 * * * *", "America/New_York", dst="back"),
    Case("30 1 * * *", "America/New_York", dst="back", lead=timedelta(days=20)),
    Case("0 3 * * *", "America/New_York", dst="forward", lead=timedelta(days=20)),
    Case("0 9 * * 1-5", "America/New_York"),
    Case("0 9 * * 1-5", "Europe/London", dst="forward", lead=timedelta(days=30)),
    Case("30 8 * * *", "Europe/London", dst="back", lead=timedelta(days=20)),
    Case("*/30 9-17 * * *", "Europe/London", dst="back", lead=timedelta(days=2)),
    Case("0 * * * *", "America/Santiago", dst="forward", lead=timedelta(hours=20)),
    Case("*/10 3-23 * * *", "Australia/Lord_Howe", dst="forward", lead=timedelta(hours=10)),
    Case("0 9 * * 1-5", "Australia/Lord_Howe", dst="back", lead=timedelta(days=30)),
    Case("45 4 * * *", "Australia/Sydney", dst="back", lead=timedelta(days=20)),
    Case("*/20 * * * *", "Asia/Kolkata"),
    Case("30 9 * * 1-5", "Asia/Kolkata"),
    Case("0 0 1 * 1", "Europe/London"),
]


def _transition(zone: str, direction: str) -> datetime:
    now = datetime.now(UTC)
    for change in transitions(zone, now.year, now.year + 3):
        forward = change.after > change.before
        if change.at > now.timestamp() and forward == (direction == "forward"):
            return datetime.fromtimestamp(change.at, UTC)
    raise AssertionError(f"{zone} has no {direction} DST change coming")


async def _server_times(
    client: Client, spec: ScheduleSpec, start: datetime, end: datetime
) -> list[datetime]:
    """Temporal's fire times in (start, end] for ``spec``, via a paused throwaway schedule."""
    schedule_id = f"cron-equivalence-{uuid.uuid4()}"
    action = ScheduleActionStartWorkflow(
        "NoSuchWorkflow", id=f"never-{schedule_id}", task_queue="cron-equivalence-nowhere"
    )
    handle = await client.create_schedule(
        schedule_id, Schedule(action=action, spec=spec, state=ScheduleState(paused=True))
    )
    try:
        start_ts, end_ts = Timestamp(), Timestamp()
        start_ts.FromDatetime(start)
        end_ts.FromDatetime(end)
        response = await client.workflow_service.list_schedule_matching_times(
            ListScheduleMatchingTimesRequest(
                namespace=client.namespace,
                schedule_id=schedule_id,
                start_time=start_ts,
                end_time=end_ts,
            )
        )
    finally:
        await handle.delete()
    assert len(response.start_time) < 1000, "the server caps the answer at 1000 times"
    return [t.ToDatetime(tzinfo=UTC) for t in response.start_time]


def test_corpus_is_big_enough_and_valid() -> None:
    assert len(CORPUS) >= 40
    for case in CORPUS:
        validate_cron(case.expression)


@pytest.mark.parametrize("case", CORPUS, ids=str)
async def test_temporal_fires_when_croniter_does(client: Client, case: Case) -> None:
    start = START
    if case.dst is not None:
        start = _transition(case.timezone, case.dst) - case.lead
    expected = next_run_times(case.expression, case.n, timezone=case.timezone, after=start)
    assert len(expected) == case.n
    if case.dst is not None:
        assert expected[0] < start + case.lead < expected[-1], "the window must cross the change"
    spec = cron_to_schedule_spec(case.expression, case.timezone)
    actual = await _server_times(client, spec, start, expected[-1])
    assert actual == [t.astimezone(UTC) for t in expected]


# Pairs on both sides of the DST rule; the rejected ones disagree every year.
DST_PROBES = [
    ("30 2 * * *", "America/New_York", True),
    ("*/20 2 * * *", "America/New_York", True),
    ("*/15 * * * *", "America/New_York", False),
    ("0 1-5 * * *", "America/New_York", False),
    ("*/15 * * * *", "Europe/London", True),
    ("30 1 * * *", "Europe/London", True),
    ("0 9 * * *", "Europe/London", False),
    ("30 1 * * *", "Australia/Sydney", True),
    ("0 * * * *", "Australia/Lord_Howe", True),
    ("15 2 * * *", "Australia/Lord_Howe", True),
    ("*/10 3-23 * * *", "Australia/Lord_Howe", False),
    ("0 12 * * 0", "America/Santiago", True),
    ("0 12 * * 6", "America/Santiago", True),
    ("0 0 * * *", "America/Havana", True),
    ("*/15 * * * *", "America/Santiago", False),
]


def _as_sets(calendar: ScheduleCalendarSpec) -> CalendarSets:
    def values(ranges: Sequence[ScheduleRange]) -> frozenset[int]:
        return frozenset(v for r in ranges for v in range(r.start, r.end + 1, r.step))

    return CalendarSets(
        minute=values(calendar.minute),
        hour=values(calendar.hour),
        day_of_month=values(calendar.day_of_month),
        month=values(calendar.month),
        day_of_week=values(calendar.day_of_week),
    )


@pytest.mark.parametrize(("expression", "zone", "rejected"), DST_PROBES, ids=str)
async def test_dst_replay_matches_the_server(
    client: Client, expression: str, zone: str, rejected: bool
) -> None:
    utc_spec = cron_to_schedule_spec(expression)  # same calendars, no DST check in UTC
    spec = dataclasses.replace(utc_spec, time_zone_name=zone)
    calendars = [_as_sets(c) for c in spec.calendars]
    tz = ZoneInfo(zone)
    disagreements = 0
    for direction in ("forward", "back"):
        change = _transition(zone, direction)
        start, end = change - timedelta(hours=30), change + timedelta(hours=30)
        server = [int(t.timestamp()) for t in await _server_times(client, spec, start, end)]
        window = (int(start.timestamp()), int(end.timestamp()))
        assert temporal_times(calendars, tz, *window) == server
        disagreements += cron_times(validate_cron(expression), tz, *window) != server
    assert bool(disagreements) == rejected
    if rejected:
        with pytest.raises(InvalidCronError, match="daylight-saving"):
            cron_to_schedule_spec(expression, zone)
    else:
        assert cron_to_schedule_spec(expression, zone).time_zone_name == zone
