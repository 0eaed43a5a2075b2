"""How figures read on the dashboard: durations, ages, counts and progress, as short text.

Pure functions, registered as Jinja2 filters, so every page writes a number the same way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode


def seconds(value: float | None) -> str:
    """``0.42 s`` → ``420 ms``; ``95`` → ``1m 35s``; None → ``–``."""
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``moment`` was: ``5 s ago``, ``3m 02s ago``; ``in 4 s`` for the future."""
    if moment is None:
        return "–"
    now = now or datetime.now(UTC)
    delta = (now - moment).total_seconds()
    if delta < 0:
        return f"in {seconds(-delta)}"
    return f"{seconds(delta) if delta >= 1 else 'now'}{' ago' if delta >= 1 else ''}"


def when(moment: datetime | None) -> str:
    """A timestamp as ``2026-12-02 04:33:30 UTC`` (its own zone kept for schedules)."""
    if moment is None:
        return "–"
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def count(value: int | float | None) -> str:
    """Thousands separated: ``10000`` → ``10,000``; a rate keeps one decimal."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def percent(done: int, total: int) -> int:
    """Whole percent of ``done`` in ``total``, 0..100 (0 of 0 is 0)."""
    if total <= 0:
        return 0
    return max(0, min(100, int(done * 100 / total)))


def pretty_json(value: Any) -> str:
    """A payload as indented JSON (escaped later by the template, like any text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def history_url(ui_url: str, namespace: str, workflow_id: str, run_id: str | None) -> str:
    """The Temporal Web UI page of one workflow's event history."""
    base = (
        f"{ui_url}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    )
    return f"{base}/{quote(run_id, safe='')}/history" if run_id else f"{base}/history"


def with_query(path: str, **params: Any) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    given = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(given)}" if given else path


def safe_back(target: str | None, default: str = "/") -> str:
    """A local path to go back to after an action; anything else (``//evil``, ``http:``) is
    replaced by ``default``, so an action can never redirect off the dashboard."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
