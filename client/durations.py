"""Human durations for the CLI and options: ``90``, ``10s``, ``5m``, ``2h``, ``1d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def as_timedelta(value: timedelta | float) -> timedelta:
    """Accept seconds or a timedelta, as Laravel accepts seconds or a DateInterval."""
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def parse_duration(text: str) -> timedelta:
    """Parse ``10s``-style text; a bare number means seconds. Raises ValueError naming the fix."""
    value = text.strip().lower()
    try:
        return timedelta(seconds=float(value))
    except ValueError:
        pass
    parts = _PART.findall(value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"invalid duration {text!r}: use e.g. 30, 10s, 5m, 2h, 1d or 1h30m")
    return timedelta(seconds=sum(float(number) * _UNITS[unit] for number, unit in parts))
