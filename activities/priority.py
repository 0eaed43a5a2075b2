"""Priority levels, fairness keys and the deadline boost: what Temporal's ``Priority`` gets.

Temporal orders a task queue's backlog by priority key (1 first .. 5 last, 3 by default), then,
with ``matching.enableFairness``, shares each level between fairness keys in proportion to their
weights. A job names its level (``"high"``/``"normal"``/``"low"``, or 1..5), may name a fairness
key and weight (by default the key is its job class, so one flood of one class cannot starve
the others), and a job whose deadline is near is raised one level, so it goes before the jobs of
its own level that have no deadline.
"""

from __future__ import annotations

import hashlib

PRIORITY_NAMES: dict[str, int] = {"high": 1, "normal": 3, "default": 3, "low": 5}
"""Level names as Temporal priority keys. ``default`` is the schedules' spelling of normal."""
HIGHEST_PRIORITY = 1
DEFAULT_PRIORITY = 3
"""What the server uses for a task without a priority key ((1 + 5) / 2)."""
FAIRNESS_KEY_MAX_BYTES = 64
"""The server refuses longer keys ("fairness key length exceeds limit")."""


def priority_key(value: object) -> object:
    """A priority as its Temporal key: names become 1/3/5, anything else is left to the range check.

    Raises ValueError naming the allowed values for an unknown name or a bool.
    """
    allowed = "1 (highest) .. 5 (lowest), or 'high' (1), 'normal' (3), 'low' (5)"
    if isinstance(value, bool):
        raise ValueError(f"priority must be {allowed}, not {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        if text not in PRIORITY_NAMES:
            raise ValueError(f"unknown priority {value!r}; use {allowed}")
        return PRIORITY_NAMES[text]
    return value


def check_fairness_key(key: str) -> str:
    """``key`` if the server accepts it as a fairness key, else ValueError with the limit."""
    size = len(key.encode())
    if not key or size > FAIRNESS_KEY_MAX_BYTES:
        raise ValueError(
            f"fairness key {key[:80]!r} is {size} bytes; the server accepts 1 to "
            f"{FAIRNESS_KEY_MAX_BYTES} bytes (a tenant id, say)"
        )
    return key


def default_fairness_key(job: str) -> str:
    """The job class's name as a fairness key: its import path, shortened with a digest if long."""
    if len(job.encode()) <= FAIRNESS_KEY_MAX_BYTES:
        return job
    digest = hashlib.sha1(job.encode()).hexdigest()[:10]
    tail = job.encode()[-(FAIRNESS_KEY_MAX_BYTES - 11) :].decode(errors="ignore")
    return f"{digest}~{tail}"
