"""Visibility queries: the one place their values are quoted and their clauses joined."""

from __future__ import annotations

from jobmodule.workflows import search_attributes as sa


def quote(value: str) -> str:
    """Quote a value for a visibility query."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def equals(field: str, value: str) -> str:
    """``field = "value"``, with the value quoted."""
    return f"{field} = {quote(value)}"


def job_filters(*, queue: str | None = None, job: str | None = None) -> list[str]:
    """The clauses of the optional ``queue=`` and ``job=`` filters every listing takes."""
    clauses = []
    if queue:
        clauses.append(equals(sa.JOB_QUEUE.name, queue))
    if job:
        clauses.append(equals(sa.JOB_CLASS.name, job))
    return clauses


def all_of(*clauses: str) -> str:
    """The clauses joined with AND."""
    return " AND ".join(clauses)
