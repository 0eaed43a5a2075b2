"""Private helper of :mod:`jobmodule.schedules.cron`: Temporal calendars as plain value sets.

A :class:`CalendarSets` is one structured calendar; :meth:`CalendarSets.to_spec` writes it as a
``ScheduleCalendarSpec``. The rest answers one question: where do croniter and Temporal part ways
around daylight-saving changes? They agree on every fire time except on the days a zone changes
its UTC offset, where they resolve skipped and repeated wall-clock times differently (the
:mod:`jobmodule.schedules.cron` docstring lists the findings). Rather than approximate either
rule, this module *replays* both around every distinct transition of a zone:

* croniter itself, started a few hours before the transition;
* :func:`temporal_next`, a port of the Temporal server's calendar matcher
  (``compiledCalendar.next`` in ``service/worker/scheduler/calendar.go``) including Go's
  ``time.Date`` resolution of non-existent and ambiguous local times, which is where the
  server's behaviour comes from. ``tests/test_cron_equivalence.py`` checks this port against a
  real server on DST days, so a disagreement found here is one the server has.

Nothing here is public API; :mod:`jobmodule.schedules.cron` turns a :class:`DstConflict` into an
error.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter
from temporalio.client import ScheduleCalendarSpec, ScheduleRange

MAX_CALENDAR_YEAR = 2100
"""Temporal computes no calendar time after this year (``maxCalendarYear`` in calendar.go)."""

_EPOCH = datetime(1970, 1, 1)
_HOUR = 3600
_SCAN_STEP = 7 * 24 * _HOUR
_MAX_RUNS_PER_WINDOW = 5000


@dataclass(frozen=True)
class CalendarSets:
    """One Temporal calendar as plain value sets: second is always 0 and every year matches."""

    minute: frozenset[int]
    hour: frozenset[int]
    day_of_month: frozenset[int]
    month: frozenset[int]
    day_of_week: frozenset[int]
    """0 is Sunday, as in Temporal and Go."""

    def to_spec(self, comment: str) -> ScheduleCalendarSpec:
        """This calendar as a Temporal ``ScheduleCalendarSpec`` matching second 0."""
        return ScheduleCalendarSpec(
            second=[ScheduleRange(0)],
            minute=schedule_ranges(self.minute),
            hour=schedule_ranges(self.hour),
            day_of_month=schedule_ranges(self.day_of_month),
            month=schedule_ranges(self.month),
            day_of_week=schedule_ranges(self.day_of_week),
            comment=comment,
        )


def schedule_ranges(values: frozenset[int]) -> list[ScheduleRange]:
    """Values as few inclusive ``ScheduleRange`` s: consecutive runs and evenly stepped runs."""
    ordered, i = sorted(values), 0
    out: list[ScheduleRange] = []
    while i < len(ordered):
        j = i + 1
        if j < len(ordered):
            step = ordered[j] - ordered[i]
            while j + 1 < len(ordered) and ordered[j + 1] - ordered[j] == step:
                j += 1
            if step == 1 or j - i >= 2:  # a run of three or more, or two neighbours
                out.append(ScheduleRange(ordered[i], ordered[j], step if step > 1 else 0))
                i = j + 1
                continue
        out.append(ScheduleRange(ordered[i]))
        i += 1
    return out


@dataclass(frozen=True)
class Transition:
    """A UTC-offset change of a zone: at ``at`` (unix seconds) the offset goes before -> after."""

    at: int
    before: int
    after: int

    @property
    def offsets(self) -> tuple[int, int]:
        """The UTC offsets in seconds before and after the change."""
        return self.before, self.after


@dataclass(frozen=True)
class DstConflict:
    """Fire times on which croniter and Temporal disagree around one transition."""

    transition: Transition
    zone: str
    cron_only: tuple[datetime, ...]
    temporal_only: tuple[datetime, ...]

    def describe(self) -> str:
        """What happens, for an error message: the change, who fires when, and the way out."""
        change = self.transition
        clock = [_wall(change.at + offset).strftime("%H:%M") for offset in change.offsets]
        day = datetime.fromtimestamp(change.at, ZoneInfo(self.zone)).date().isoformat()
        direction = "forward" if change.after > change.before else "back"
        parts = []
        if self.cron_only:
            parts.append(f"cron runs at {_instants(self.cron_only)} but Temporal would not")
        if self.temporal_only:
            parts.append(f"Temporal would run at {_instants(self.temporal_only)} but cron does not")
        return (
            f"in time zone {self.zone} it meets a daylight-saving change that cron and Temporal "
            f"handle differently: on {day} clocks go {direction} from {clock[0]} to {clock[1]}; "
            f"{'; '.join(parts) or 'they disagree'}. Keep the schedule clear of the hours around "
            "the change, or use timezone 'UTC'"
        )


def _instants(times: tuple[datetime, ...]) -> str:
    shown = ", ".join(t.isoformat(timespec="minutes") for t in times[:3])
    return shown + (f" (+{len(times) - 3} more)" if len(times) > 3 else "")


def _offset(tz: ZoneInfo, unix: int) -> int:
    offset = datetime.fromtimestamp(unix, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _wall(unix: int) -> datetime:
    """The naive wall clock that reads ``unix`` seconds past the epoch."""
    return _EPOCH + timedelta(seconds=unix)


def go_date(y: int, mo: int, d: int, h: int, mi: int, s: int, tz: ZoneInfo) -> int:
    """Go's ``time.Date(y, mo, d, h, mi, s, 0, tz).Unix()``, including how Go picks an offset.

    Go looks up the offset in force at the wall clock read as UTC and, when that offset is not
    zero, looks again at the corrected instant. In a gap this yields a time an offset-change away;
    in a fold it yields the earlier copy west of Greenwich and the later one east of it.
    """
    unix = int((datetime(y, mo, d) - _EPOCH).total_seconds()) + h * _HOUR + mi * 60 + s
    offset = _offset(tz, unix)
    if offset != 0:
        offset = _offset(tz, unix - offset)
    return unix - offset


def _days_in_month(month: int, year: int) -> int:
    """Go's ``daysInMonth``, which the matcher also calls with month 13 (giving 30)."""
    if month == 2:
        return 29 if _calendar.isleap(year) else 28
    return 30 + ((0b1010110101010 >> month) & 1)


def _calendar_next(cal: CalendarSets, tz: ZoneInfo, ts: int) -> int | None:
    """Port of ``compiledCalendar.next``: the first matching second strictly after ``ts``."""
    local = datetime.fromtimestamp(ts, tz)
    y, mo, d = local.year, local.month, local.day
    h, m, s = local.hour, local.minute, local.second
    dst_offset = 0
    if datetime.fromtimestamp(ts - _HOUR, tz).hour == h:
        dst_offset = _HOUR  # in the second copy of a repeated hour
    s += 1
    while True:
        if s >= 60:
            m, s = m + 1, 0
        if m >= 60:
            prev = go_date(y, mo, d, h, 0, 0, tz)
            h, m = h + 1, 0
            following = go_date(y, mo, d, h, 0, 0, tz)
            if dst_offset == 0 and following - prev > _HOUR:
                h, dst_offset = h - 1, _HOUR  # skipped over a repeated hour: do it again
            else:
                dst_offset = 0
        if h >= 24:
            d, h = d + 1, 0
        if d > _days_in_month(mo, y):
            mo, d = mo + 1, 1
        if mo > 12:
            y, mo = y + 1, 1
        if y > MAX_CALENDAR_YEAR:
            return None
        while mo not in cal.month:
            mo, d, h, m, s, dst_offset = mo + 1, 1, 0, 0, 0, 0
            if mo > 12:
                break
        if mo > 12:
            continue
        while d not in cal.day_of_month or _weekday(go_date(y, mo, d, h, m, s, tz), tz) not in (
            cal.day_of_week
        ):
            d, h, m, s, dst_offset = d + 1, 0, 0, 0, 0
            if d > _days_in_month(mo, y):
                break
        if d > _days_in_month(mo, y):
            continue
        while h not in cal.hour:
            h, m, s, dst_offset = h + 1, 0, 0, 0
            if h >= 24:
                break
        if h >= 24:
            continue
        while m not in cal.minute:
            m, s = m + 1, 0
            if m >= 60:
                break
        if m >= 60:
            continue
        if s != 0:  # calendars built by schedules.cron match second 0 only
            s = 60
            continue
        found = go_date(y, mo, d, h, m, s, tz)
        if datetime.fromtimestamp(found, tz).hour != h:
            h, m, s = h + 1, 0, 0  # a wall time the DST gap jumped over
            continue
        return found + dst_offset


def _weekday(unix: int, tz: ZoneInfo) -> int:
    return (datetime.fromtimestamp(unix, tz).weekday() + 1) % 7


def temporal_next(calendars: Sequence[CalendarSets], tz: ZoneInfo, after: int) -> int | None:
    """The spec's next time after ``after`` (unix seconds): the earliest over its calendars."""
    found = [t for cal in calendars if (t := _calendar_next(cal, tz, after)) is not None]
    return min(found, default=None)


def temporal_times(
    calendars: Sequence[CalendarSets], tz: ZoneInfo, start: int, end: int
) -> list[int]:
    """Temporal's fire times in ``(start, end]``, as ListScheduleMatchingTimes reports them."""
    out: list[int] = []
    current = start
    while len(out) < _MAX_RUNS_PER_WINDOW:
        found = temporal_next(calendars, tz, current)
        if found is None or found > end:
            break
        out.append(found)
        current = found
    return out


def cron_times(expression: str, tz: ZoneInfo, start: int, end: int) -> list[int]:
    """croniter's fire times in ``(start, end]`` for a tz-aware start."""
    out: list[int] = []
    runs = croniter(expression, datetime.fromtimestamp(start, tz))
    while len(out) < _MAX_RUNS_PER_WINDOW:
        try:
            found = int(runs.get_next(datetime).timestamp())
        except CroniterError:
            break
        if found > end:
            break
        out.append(found)
    return out


@lru_cache(maxsize=128)
def transitions(zone: str, first_year: int, last_year: int) -> tuple[Transition, ...]:
    """Every UTC-offset change of ``zone`` from ``first_year`` through ``last_year``."""
    tz = ZoneInfo(zone)
    t = int((datetime(first_year, 1, 1) - _EPOCH).total_seconds())
    end = int((datetime(last_year + 1, 1, 1) - _EPOCH).total_seconds())
    offset = _offset(tz, t)
    found: list[Transition] = []
    while t < end:
        step_to = min(t + _SCAN_STEP, end)
        if _offset(tz, step_to) == offset:
            t = step_to
            continue
        lo, hi = t, step_to  # offset(lo) == offset != offset(hi): bisect to the second
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _offset(tz, mid) == offset else (lo, mid)
        found.append(Transition(hi, offset, _offset(tz, hi)))
        t, offset = hi, _offset(tz, hi)
    return tuple(found)


def _window(
    transition: Transition, calendars: Sequence[CalendarSets]
) -> tuple[int, int, tuple[object, ...]]:
    """The instants to replay around a transition, and what makes two transitions alike.

    Far from a transition neither scheduler sees DST, with one exception: Temporal reads the
    weekday at 00:00, which lands on the previous day when midnight does not exist. So the window
    is three hours either side, or whole days when the change touches midnight and a calendar
    restricts the weekday. Both schedulers only ask whether each local date matches each
    calendar, so transitions with the same answers, wall time and offsets behave alike and are
    replayed once.
    """
    walls = sorted(
        (_wall(transition.at + transition.before), _wall(transition.at + transition.after))
    )
    touches_midnight = (
        walls[0].date() != walls[1].date()
        or walls[0].time() < time(1)
        or walls[1].time() > time(23)
    )
    weekday_matters = any(len(cal.day_of_week) < 7 for cal in calendars)
    pad = 27 * _HOUR if touches_midnight and weekday_matters else 3 * _HOUR
    day: date = (walls[0] - timedelta(seconds=pad)).date()
    last: date = (walls[1] + timedelta(seconds=pad)).date()
    days = []
    while day <= last:
        weekday = (day.weekday() + 1) % 7
        days.append(
            (day.day == _days_in_month(day.month, day.year),)
            + tuple(
                (
                    day.month in cal.month,
                    day.day in cal.day_of_month,
                    weekday in cal.day_of_week,
                    (weekday - 1) % 7 in cal.day_of_week,
                )
                for cal in calendars
            )
        )
        day += timedelta(days=1)
    key = (tuple(days), walls[0].time(), transition.before, transition.after)
    return transition.at - pad, transition.at + pad, key


def find_dst_conflict(
    expression: str,
    calendars: Sequence[CalendarSets],
    zone: str,
    *,
    first_year: int,
    last_year: int = MAX_CALENDAR_YEAR - 1,  # so no replay window runs past Temporal's last year
) -> DstConflict | None:
    """The earliest transition around which croniter and Temporal fire differently, if any."""
    tz = ZoneInfo(zone)
    seen: set[tuple[object, ...]] = set()
    for transition in transitions(zone, first_year, last_year):
        start, end, key = _window(transition, calendars)
        if key in seen:
            continue
        seen.add(key)
        cron = cron_times(expression, tz, start, end)
        temporal = temporal_times(calendars, tz, start, end)
        if cron != temporal:
            return DstConflict(
                transition=transition,
                zone=zone,
                cron_only=tuple(
                    datetime.fromtimestamp(t, tz) for t in sorted(set(cron) - set(temporal))
                ),
                temporal_only=tuple(
                    datetime.fromtimestamp(t, tz) for t in sorted(set(temporal) - set(cron))
                ),
            )
    return None
