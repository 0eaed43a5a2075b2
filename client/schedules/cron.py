"""Standard 5-field cron, translated faithfully into a Temporal ``ScheduleSpec``.

Users write classic cron, ``minute hour day-of-month month day-of-week``, or a macro (``@yearly
@annually @monthly @weekly @daily @midnight @hourly``). Cron strings never reach Temporal: its
parser reads a sixth field as the *year* and ANDs day-of-month with day-of-week, where classic
cron ORs them when both are restricted. croniter (``day_or=True``) is the reference: it expands
the expression, and the value sets become structured calendars (fields ANDed, calendars ORed).

* ``0 0 1 * 1`` (the 1st OR Mondays) becomes two calendars, one per side of the OR.
* "Restricted" is croniter's test on the *expanded* field: ``*`` is not, but ``*/2`` and ``1-31``
  are, so ``0 0 */2 * 1`` is odd days OR Mondays (Vixie cron ANDs them) and ``0 0 1-31 * 1`` is
  every day. Day-of-week 7 is Sunday; JAN-DEC and SUN-SAT work; ``FRI-MON`` and ``22-2`` wrap.

:class:`InvalidCronError` names the field and the fix for: a field count other than 5 (so also
croniter's 6/7-field seconds and year forms), ``@reboot``, out-of-range values (also 0 for
day-of-month and month, which croniter reads as 1), step 0, ranges with equal ends (croniter
reads ``5-5`` as the *whole* field), the extensions ``L``, ``W``, ``#``, ``?`` and ``H``/``R``
(no Temporal calendar equivalent), and expressions that never fire (``0 0 30 2 *``).

Daylight saving: schedules fire at wall-clock times of ``time_zone_name``. croniter and Temporal
agree except on days the zone changes its UTC offset:

* croniter runs a wall time skipped by a spring-forward at the end of the gap when the hour is
  pinned (``30 2 * * *`` in America/New_York runs at 03:00) and drops it for a ``*`` hour; times
  in a repeated hour run twice.
* Temporal drops skipped times (with Australia/Lord_Howe's 30-minute change it runs them 30
  minutes late instead). In a repeated hour, Go's choice of offset gives the first copy west of
  Greenwich but the second one east of it, and the repeat logic assumes one-hour changes: in
  Europe and Australia the first copy of the hour is lost and the hour before may be replayed an
  hour late (``30 1 * * *`` in Australia/Sydney also runs at 02:30+11:00). Where midnight does not
  exist (America/Santiago, America/Havana) the weekday is taken from the day before, so a
  Sunday-only job is skipped and a Saturday-only job runs that Sunday.

Neither wins. :func:`cron_to_schedule_spec` and :func:`next_run_times` replay both, croniter and
:mod:`jobmodule.schedules.cron_calendar`'s port of Temporal's matcher (checked against a real
server by the equivalence test), around every distinct offset change of the zone from this year
to 2099, and reject the pair if they would fire differently. Schedules clear of the change hours
(``0 9 * * 1-5``) pass everywhere; in zones at or east of Greenwich, hourly and more frequent
schedules are rejected, and ``timezone="UTC"`` is the way to write them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import NoReturn
from zoneinfo import ZoneInfo, available_timezones

from cron_descriptor import ExpressionDescriptor
from croniter import CroniterError, croniter
from temporalio.client import ScheduleSpec

from jobmodule.activities import JobModuleError
from jobmodule.schedules.cron_calendar import CalendarSets, DstConflict, find_dst_conflict

__all__ = [
    "MACROS",
    "InvalidCronError",
    "InvalidTimezoneError",
    "cron_to_schedule_spec",
    "describe_cron",
    "next_run_times",
    "validate_cron",
    "validate_timezone",
]

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The macros we accept, and the 5-field expression each stands for."""

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_DOM, _MONTH, _DOW = 2, 3, 4
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_FULL = (range(60), range(24), range(1, 32), range(1, 13), range(7))
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_DAYS = "sun mon tue wed thu fri sat".split()
_NAMES = {
    _MONTH: {n: i for i, n in enumerate(_MONTHS, 1)},
    _DOW: {n: i for i, n in enumerate(_DAYS)},
}
_MAX_DAY = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ELEMENT = re.compile(
    r"(?:(?P<star>\*)|(?P<low>[a-z0-9]+)(?:-(?P<high>[a-z0-9]+))?)(?:/(?P<step>\w+))?"
)
_HASHED = re.compile(r"[hr](?:\(.*\))?(?:/.*)?")
_FIELD_TEXT = re.compile(r"[^ \t\n\r\f\v]+")
_NO_EQUIVALENT = ", a croniter extension Temporal calendars have no equivalent for"
_EXTENSIONS = (
    (_DOM, "l", "last day of the month"),
    (_DOM, "w", "nearest weekday"),
    (_DOW, "#", "nth weekday of the month"),
    (_DOW, "l", "last weekday of the month"),
)


class InvalidCronError(JobModuleError, ValueError):
    """A cron expression (or expression and time zone) this module will not schedule.

    Attributes:
        expression: The expression as given.
        field: The field at fault ("minute", ..., "day-of-week"), or None for the whole thing.
        reason: What is wrong and how to fix it.
    """

    def __init__(self, expression: str, reason: str, *, field: str | None = None) -> None:
        self.expression = expression
        self.field = field
        self.reason = reason
        super().__init__(f"Invalid cron {expression!r}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.expression, self.reason), {"field": self.field})


class InvalidTimezoneError(JobModuleError, ValueError):
    """A time zone that is not an IANA name (``Europe/London``, ``UTC``)."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f" Did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(
            f"Unknown time zone {name!r}: expected an IANA name such as 'Europe/London' or "
            f"'UTC'.{hint}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name, self.suggestions))


@dataclass(frozen=True)
class _Cron:
    normalized: str
    calendars: tuple[CalendarSets, ...]


def validate_cron(expression: str) -> str:
    """Check a 5-field cron expression or macro and return it normalized.

    Args:
        expression: e.g. ``"*/15 9-17 * * MON-FRI"`` or ``"@daily"``.

    Returns:
        The expression with macros expanded and fields separated by single spaces.

    Raises:
        InvalidCronError: It is malformed, uses syntax we cannot translate, or never fires.
    """
    return _parse(_text(expression)).normalized


def validate_timezone(name: str) -> str:
    """Check that ``name`` is an IANA time zone name and return it.

    Raises:
        InvalidTimezoneError: It is not one; close matches are suggested.
    """
    zones = _zones()
    if isinstance(name, str) and (name in zones or name == "UTC"):
        return name
    text = str(name)
    by_lower = {zone.lower(): zone for zone in zones}
    suggestions = [by_lower[text.lower()]] if text.lower() in by_lower else []
    suggestions += difflib.get_close_matches(text, sorted(zones), n=3, cutoff=0.6)
    raise InvalidTimezoneError(text, list(dict.fromkeys(suggestions))[:3])


def cron_to_schedule_spec(expression: str, timezone: str = "UTC") -> ScheduleSpec:
    """Translate a cron expression into an equivalent structured Temporal ``ScheduleSpec``.

    Args:
        expression: A 5-field cron expression or macro.
        timezone: IANA zone whose wall clock the expression reads.

    Returns:
        A spec with one calendar (two when day-of-month and day-of-week are ORed), matching
        second 0, and ``time_zone_name`` set. Its fire times equal croniter's.

    Raises:
        InvalidCronError: The expression is invalid, or croniter and Temporal would fire it
            differently around a daylight-saving change in ``timezone``.
        InvalidTimezoneError: ``timezone`` is not an IANA name.
    """
    cron = _parse(_text(expression))
    zone = validate_timezone(timezone)
    _check_dst(expression, cron, zone)
    if len(cron.calendars) == 1:
        comments = [f"cron: {cron.normalized}"]
    else:
        comments = [f"cron: {cron.normalized} ({side} side)" for side in FIELDS[_DOM::2]]
    return ScheduleSpec(
        calendars=[c.to_spec(note) for c, note in zip(cron.calendars, comments, strict=True)],
        time_zone_name=zone,
    )


def next_run_times(
    expression: str, n: int = 5, *, timezone: str = "UTC", after: datetime | None = None
) -> list[datetime]:
    """The next ``n`` fire times, computed by croniter.

    Args:
        expression: A 5-field cron expression or macro.
        n: How many times to return.
        timezone: IANA zone whose wall clock the expression reads.
        after: Exclusive start; now when None, read as wall time in ``timezone`` when naive.

    Returns:
        Timezone-aware datetimes in ``timezone``, strictly increasing.

    Raises:
        InvalidCronError: As :func:`cron_to_schedule_spec`, so a preview is never shown for a
            schedule that cannot be created.
        InvalidTimezoneError: ``timezone`` is not an IANA name.
        ValueError: ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    cron = _parse(_text(expression))
    zone = validate_timezone(timezone)
    _check_dst(expression, cron, zone)
    tz = ZoneInfo(zone)
    if after is None:
        start = datetime.now(tz)
    else:
        start = after.replace(tzinfo=tz) if after.tzinfo is None else after.astimezone(tz)
    runs = croniter(cron.normalized, start)
    return [runs.get_next(datetime) for _ in range(n)]


@lru_cache(maxsize=1024)
def describe_cron(expression: str) -> str:
    """A human-readable description, e.g. ``"At 02:00, only on Monday"`` for ``0 2 * * 1``.

    Falls back to the expression itself if cron-descriptor cannot describe it.

    Raises:
        InvalidCronError: The expression is invalid.
    """
    normalized = validate_cron(expression)
    try:
        return str(ExpressionDescriptor(normalized, use_24hour_time_format=True).get_description())
    except Exception:  # a description is a nicety: never fail a caller over it
        return expression


def _text(expression: object) -> str:
    if not isinstance(expression, str):
        raise InvalidCronError(
            repr(expression), f"must be a string, not {type(expression).__name__}"
        )
    return expression


@lru_cache(maxsize=512)
def _parse(expression: str) -> _Cron:
    text = expression.strip()
    if not text:
        raise InvalidCronError(expression, "is empty; expected 5 fields: " + " ".join(FIELDS))
    if text.startswith("@"):
        if text.lower() == "@reboot":
            reason = "'@reboot' runs when a machine boots; a Temporal schedule has no boot"
            raise InvalidCronError(expression, reason)
        if text.lower() not in MACROS:
            reason = f"unknown macro {text!r}; use one of {', '.join(MACROS)}"
            raise InvalidCronError(expression, reason)
        text = MACROS[text.lower()]
    fields = _FIELD_TEXT.findall(text)
    if len(fields) != 5:
        extra = ""
        if len(fields) in (6, 7):
            extra = " (croniter's 6/7-field forms add seconds or a year, which we do not support)"
        reason = f"wrong field count: got {len(fields)}, expected 5 ({' '.join(FIELDS)}){extra}"
        raise InvalidCronError(expression, reason)
    for index, token in enumerate(fields):
        _check_field(expression, index, token)
    normalized = " ".join(fields)
    try:
        expanded, nth_weekday = croniter.expand(normalized)
    except CroniterError as exc:  # pragma: no cover - _check_field rejects all we know of
        raise InvalidCronError(expression, f"croniter rejects it: {exc}") from exc
    if nth_weekday:  # pragma: no cover - '#' and 'L' are rejected above
        raise InvalidCronError(expression, "nth-weekday syntax" + _NO_EQUIVALENT, field=FIELDS[4])
    values = [
        frozenset(_FULL[i]) if expanded[i] == ["*"] else frozenset(int(v) for v in expanded[i])
        for i in range(5)
    ]
    minute, hour, dom, month, dow = values
    dom_restricted, dow_restricted = expanded[_DOM] != ["*"], expanded[_DOW] != ["*"]
    if not dow_restricted and not any(d <= _MAX_DAY[m] for m in month for d in dom):
        reason = (
            f"day-of-month field {fields[_DOM]!r} never occurs in month field "
            f"{fields[_MONTH]!r}, so the schedule never fires"
        )
        raise InvalidCronError(expression, reason, field=FIELDS[_DOM])
    calendars: tuple[CalendarSets, ...]
    if dom_restricted and dow_restricted:  # croniter's day_or: the two sides are ORed
        calendars = (
            CalendarSets(minute, hour, dom, month, frozenset(_FULL[_DOW])),
            CalendarSets(minute, hour, frozenset(_FULL[_DOM]), month, dow),
        )
    else:
        calendars = (CalendarSets(minute, hour, dom, month, dow),)
    return _Cron(normalized, calendars)


def _check_field(expression: str, index: int, token: str) -> None:
    name = FIELDS[index]
    low_bound, high_bound = _BOUNDS[index]

    def fail(reason: str) -> NoReturn:
        raise InvalidCronError(expression, f"{name} field {token!r} {reason}", field=name)

    def value(text: str) -> int:
        if text.isdigit():
            number = int(text)
            if not low_bound <= number <= high_bound:
                where = "is" if text == token else f"has {number},"
                fail(f"{where} out of range {low_bound}-{high_bound}")
            return number
        if text in _NAMES.get(index, {}):
            return _NAMES[index][text]
        names = {_MONTH: " or JAN-DEC", _DOW: " or SUN-SAT"}.get(index, "")
        fail(f"has {text!r}; expected a number {low_bound}-{high_bound}{names}")

    for element in token.lower().split(","):
        extension = _extension(index, element)
        if extension is not None:
            fail(f"uses {extension}")
        match = _ELEMENT.fullmatch(element)
        if match is None:
            fail("is not valid: use *, a value, a range a-b, a step */n or a-b/n, or a list")
        step = match["step"]
        if step is not None and not (step.isdigit() and int(step) >= 1):
            fail(f"has step {step!r}; a step must be a whole number of at least 1")
        if match["star"]:
            continue
        low = value(match["low"])
        if match["high"] is None:
            continue
        high = value(match["high"])
        aliased = {low % 7, high % 7} if index == _DOW else {low, high}
        if len(aliased) == 1 and not (index == _DOW and (low, high) == (0, 7)):
            fail(
                f"has the range {element!r} with equal ends, which croniter reads as the whole "
                f"field; write {match['low']!r} for that value alone or '*' for all"
            )


def _extension(index: int, element: str) -> str | None:
    """Why a list element uses cron syntax beyond the standard, or None when it does not."""
    if "?" in element:
        return "'?' (no specific value), Quartz syntax; write '*' instead"
    if _HASHED.fullmatch(element):
        return (
            "'H'/'R' (hashed or random values), which need a per-job seed that a Temporal "
            "calendar cannot carry; write explicit values"
        )
    for field, char, meaning in _EXTENSIONS:
        if index == field and char in element:
            return f"'{char.upper()}' ({meaning})" + _NO_EQUIVALENT
    return None


def _check_dst(expression: str, cron: _Cron, zone: str) -> None:
    conflict = _dst_conflict(cron, zone, datetime.now(UTC).year)
    if conflict is not None:
        raise InvalidCronError(expression, conflict.describe())


@lru_cache(maxsize=256)
def _dst_conflict(cron: _Cron, zone: str, first_year: int) -> DstConflict | None:
    return find_dst_conflict(cron.normalized, cron.calendars, zone, first_year=first_year)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())
