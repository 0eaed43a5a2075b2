"""Unit tests of client.cron: validation, translation shape, previews. No server needed."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import ScheduleRange

from jobmodule.activities import JobModuleError
from jobmodule.schedules.cron import (
    InvalidCronError,
    InvalidTimezoneError,
    cron_to_schedule_spec,
    describe_cron,
    next_run_times,
    validate_cron,
    validate_timezone,
)
from jobmodule.schedules.cron_calendar import schedule_ranges

R = ScheduleRange


@pytest.mark.parametrize(
    ("expression", "field", "fragment"),
    [
        ("61 * * * *", "minute", "minute field '61' is out of range 0-59"),
        ("0 24 * * *", "hour", "hour field '24' is out of range 0-23"),
        ("1,61 * * * *", "minute", "has 61, out of range 0-59"),
        ("0 0 32 * *", "day-of-month", "out of range 1-31"),
        ("0 0 0 * *", "day-of-month", "out of range 1-31"),
        ("0 0 * 13 *", "month", "out of range 1-12"),
        ("0 0 * 0 *", "month", "out of range 1-12"),
        ("0 0 * * 8", "day-of-week", "out of range 0-7"),
        ("*/0 * * * *", "minute", "step '0'"),
        ("5-5 * * * *", "minute", "equal ends"),
        ("0 0 * * 7-7", "day-of-week", "equal ends"),
        ("0 0 * FOO *", "month", "JAN-DEC"),
        ("0 0 * * MONDAY", "day-of-week", "SUN-SAT"),
        ("0 MON * * *", "hour", "expected a number 0-23"),
        ("1-2-3 * * * *", "minute", "is not valid"),
        ("0 0 31 2 *", "day-of-month", "never fires"),
        ("0 0 30 2 *", "day-of-month", "never fires"),
        ("0 0 31 4,6,9,11 *", "day-of-month", "never fires"),
        ("0 0 L * *", "day-of-month", "'L' (last day of the month)"),
        ("0 0 15W * *", "day-of-month", "'W' (nearest weekday)"),
        ("0 0 * * 1#2", "day-of-week", "'#' (nth weekday of the month)"),
        ("0 0 * * 5L", "day-of-week", "'L' (last weekday of the month)"),
        ("0 0 ? * *", "day-of-month", "'?'"),
        ("0 0 * * ?", "day-of-week", "'?'"),
        ("H * * * *", "minute", "'H'/'R'"),
        ("0 H(0-5) * * *", "hour", "'H'/'R'"),
        ("R * * * *", "minute", "'H'/'R'"),
    ],
)
def test_invalid_field_is_named(expression: str, field: str, fragment: str) -> None:
    with pytest.raises(InvalidCronError) as info:
        validate_cron(expression)
    assert info.value.field == field
    assert info.value.expression == expression
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"Invalid cron {expression!r}: ")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * *", "wrong field count: got 3, expected 5"),
        ("* * * *", "wrong field count: got 4"),
        ("0 0 * * * *", "6/7-field forms"),
        ("0 0 0 * * * 2030", "6/7-field forms"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("@reboot", "@reboot"),
        ("@fortnightly", "unknown macro"),
    ],
)
def test_invalid_expression_as_a_whole(expression: str, fragment: str) -> None:
    with pytest.raises(InvalidCronError, match="Invalid cron") as info:
        validate_cron(expression)
    assert info.value.field is None
    assert fragment in str(info.value)


def test_extension_rejections_say_why() -> None:
    with pytest.raises(InvalidCronError, match="Temporal calendars have no equivalent"):
        validate_cron("0 0 L * *")


def test_errors_are_jobmodule_value_errors_and_pickle() -> None:
    error = pytest.raises(InvalidCronError, validate_cron, "61 * * * *").value
    assert isinstance(error, JobModuleError) and isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.field, copy.expression) == (str(error), "minute", "61 * * * *")
    tz_error = pytest.raises(InvalidTimezoneError, validate_timezone, "Mars/Base").value
    assert isinstance(tz_error, JobModuleError) and isinstance(tz_error, ValueError)
    assert str(pickle.loads(pickle.dumps(tz_error))) == str(tz_error)


def test_non_string_expression() -> None:
    with pytest.raises(InvalidCronError, match="must be a string"):
        validate_cron(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("macro", "expanded"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_expand(macro: str, expanded: str) -> None:
    assert validate_cron(macro) == expanded
    assert cron_to_schedule_spec(macro) == cron_to_schedule_spec(expanded)


@pytest.mark.parametrize(
    "expression",
    ["0 12 * JAN-MAR MON", "0 9 * * mon-fri", "0 0 1 jan,jul *", "5 4 * * 0,7", "0 0 * * 0-7"],
)
def test_accepted(expression: str) -> None:
    assert validate_cron(expression) == expression


def test_normalization_collapses_whitespace() -> None:
    assert validate_cron("  0\t9  * *   MON ") == "0 9 * * MON"


def test_day_of_week_7_is_sunday() -> None:
    (sunday,) = cron_to_schedule_spec("5 4 * * 7").calendars
    assert sunday.day_of_week == [R(0)]
    (both,) = cron_to_schedule_spec("5 4 * * 0,7").calendars
    assert both.day_of_week == [R(0)]
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_run_times("5 4 * * 7", 3, after=after) == next_run_times(
        "5 4 * * 0", 3, after=after
    )
    assert all(t.weekday() == 6 for t in next_run_times("5 4 * * 7", 3, after=after))


def test_names_translate_to_numbers() -> None:
    (calendar,) = cron_to_schedule_spec("0 12 * JAN-MAR MON").calendars
    assert calendar.month == [R(1, 3)]
    assert calendar.day_of_week == [R(1)]
    assert calendar.hour == [R(12)]


def test_single_calendar_shape() -> None:
    spec = cron_to_schedule_spec("*/15 9-17 * * 1-5", "Europe/London")
    assert spec.time_zone_name == "Europe/London"
    assert spec.cron_expressions == [] and spec.intervals == []
    (calendar,) = spec.calendars
    assert calendar.second == [R(0)]
    assert calendar.minute == [R(0, 45, 15)]
    assert calendar.hour == [R(9, 17)]
    assert calendar.day_of_month == [R(1, 31)]
    assert calendar.month == [R(1, 12)]
    assert calendar.day_of_week == [R(1, 5)]
    assert calendar.year == ()


def test_day_of_month_or_day_of_week_becomes_two_calendars() -> None:
    by_day, by_weekday = cron_to_schedule_spec("0 0 1 * 1").calendars
    assert (by_day.day_of_month, by_day.day_of_week) == ([R(1)], [R(0, 6)])
    assert (by_weekday.day_of_month, by_weekday.day_of_week) == ([R(1, 31)], [R(1)])
    assert "day-of-month" in (by_day.comment or "") and "day-of-week" in (by_weekday.comment or "")
    runs = next_run_times("0 0 1 * 1", 6, after=datetime(2026, 1, 1, tzinfo=UTC))
    assert [t.day for t in runs] == [5, 12, 19, 26, 1, 2]  # Mondays OR the 1st (Feb 1st: Sunday)


def test_stepped_day_of_month_is_restricted_like_croniter() -> None:
    """croniter treats '*/2' as restricted, so it is ORed with the weekday, not ANDed."""
    by_day, by_weekday = cron_to_schedule_spec("0 0 */2 * 1").calendars
    assert by_day.day_of_month == [R(1, 31, 2)]
    assert by_weekday.day_of_week == [R(1)]
    (only,) = cron_to_schedule_spec("0 0 * * 1").calendars
    assert only.day_of_week == [R(1)]


def test_full_day_of_month_list_with_weekday_is_every_day() -> None:
    runs = next_run_times("0 0 1-31 * 1", 7, after=datetime(2026, 1, 1, tzinfo=UTC))
    assert [t.day for t in runs] == [2, 3, 4, 5, 6, 7, 8]


def test_possible_leap_day_is_accepted() -> None:
    runs = next_run_times("0 0 29 2 *", 2, after=datetime(2026, 1, 1, tzinfo=UTC))
    assert [t.year for t in runs] == [2028, 2032]


def test_or_side_can_fire_when_day_of_month_cannot() -> None:
    assert len(cron_to_schedule_spec("0 0 31 2 1").calendars) == 2  # Mondays in February


def test_reversed_ranges_wrap() -> None:
    (calendar,) = cron_to_schedule_spec("0 22-2 * * FRI-MON").calendars
    assert calendar.hour == [R(0, 2), R(22, 23)]
    assert calendar.day_of_week == [R(0, 1), R(5, 6)]


def test_schedule_ranges_compress_runs_and_steps() -> None:
    assert schedule_ranges(frozenset({0, 15, 30, 45})) == [R(0, 45, 15)]
    assert schedule_ranges(frozenset({1, 2, 3, 5})) == [R(1, 3), R(5)]
    assert schedule_ranges(frozenset({1, 10})) == [R(1), R(10)]
    assert schedule_ranges(frozenset({7})) == [R(7)]


def test_schedule_range_end_is_inclusive_and_defaults_to_start() -> None:
    assert R(5).end == 5 and R(5).step == 1
    assert R(9, 17).end == 17


def test_timezones() -> None:
    assert validate_timezone("UTC") == "UTC"
    assert validate_timezone("Asia/Kolkata") == "Asia/Kolkata"
    with pytest.raises(InvalidTimezoneError, match="America/New_York") as info:
        validate_timezone("america/new_york")
    assert info.value.suggestions[0] == "America/New_York"
    with pytest.raises(InvalidTimezoneError, match="Unknown time zone 'Mars/Base'"):
        cron_to_schedule_spec("0 0 * * *", "Mars/Base")
    with pytest.raises(InvalidTimezoneError):
        next_run_times("0 0 * * *", timezone="")


def test_next_run_times_are_aware_and_in_the_zone() -> None:
    zone = ZoneInfo("Asia/Kolkata")
    runs = next_run_times("30 9 * * *", 3, timezone="Asia/Kolkata", after=datetime(2026, 1, 1))
    assert runs == [datetime(2026, 1, d, 9, 30, tzinfo=zone) for d in (1, 2, 3)]
    assert all(t.tzinfo == zone for t in runs)
    utc_after = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)  # 09:30 IST, exclusive
    assert next_run_times("30 9 * * *", 1, timezone="Asia/Kolkata", after=utc_after)[0].day == 2
    assert next_run_times("@hourly", 0) == []
    assert len(next_run_times("@hourly")) == 5
    with pytest.raises(ValueError, match="at least 0"):
        next_run_times("@hourly", -1)


@pytest.mark.parametrize(
    ("expression", "zone", "fragment"),
    [
        ("30 2 * * *", "America/New_York", "clocks go forward from 02:00 to 03:00"),
        ("0 2 * * 0", "America/New_York", "but Temporal would not"),
        ("*/15 * * * *", "Europe/London", "clocks go back from 02:00 to 01:00"),
        ("30 1 * * *", "Australia/Sydney", "Temporal would run at"),
        ("15 2 * * *", "Australia/Lord_Howe", "from 02:00 to 02:30"),
        ("0 12 * * 0", "America/Santiago", "from 00:00 to 01:00"),
    ],
)
def test_dst_disagreements_are_rejected(expression: str, zone: str, fragment: str) -> None:
    with pytest.raises(InvalidCronError, match="daylight-saving") as info:
        cron_to_schedule_spec(expression, zone)
    assert zone in str(info.value) and fragment in str(info.value)
    assert "timezone 'UTC'" in str(info.value)
    with pytest.raises(InvalidCronError, match="daylight-saving"):
        next_run_times(expression, timezone=zone)
    assert cron_to_schedule_spec(expression, "UTC").time_zone_name == "UTC"


@pytest.mark.parametrize(
    ("expression", "zone"),
    [
        ("*/15 * * * *", "America/New_York"),
        ("30 1 * * *", "America/New_York"),
        ("0 9 * * 1-5", "Europe/London"),
        ("*/15 9-17 * * 1-5", "Australia/Lord_Howe"),
        ("0 * * * *", "America/Santiago"),
        ("*/5 * * * *", "Asia/Kolkata"),
        ("0 3 * * *", "America/New_York"),
    ],
)
def test_dst_agreements_are_accepted(expression: str, zone: str) -> None:
    assert cron_to_schedule_spec(expression, zone).time_zone_name == zone


def test_describe() -> None:
    assert describe_cron("0 2 * * 1") == "At 02:00, only on Monday"
    assert describe_cron("@weekly") == describe_cron("0 0 * * 0")
    assert "Monday through Friday" in describe_cron("*/15 9-17 * * MON-FRI")
    with pytest.raises(InvalidCronError):
        describe_cron("61 * * * *")
