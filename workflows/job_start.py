"""What a ``JobWorkflow`` or ``BatchWorkflow`` start carries, however it is started.

A job is started by ``dispatch()``, by a schedule's action and by a carrier chunk that parks a
coalesced job; a batch by ``Bus.batch()`` and by coalesced dispatch. Each start gets the same
search attributes (what ``jobmodule failed``, the Web UI and monitoring filter on), summary and
priority from here, so the four callers cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.common import Priority, SearchAttributePair, TypedSearchAttributes

from jobmodule.workflows.activity_options import task_priority
from jobmodule.workflows.job_models import JobInput
from jobmodule.workflows.search_attributes import BATCH_ID, JOB_CLASS, JOB_QUEUE, JOB_STATUS
from jobmodule.workflows.states import JobState

BATCH_JOB_CLASS = "batch"
"""The ``JobClass`` of a batch's own workflows, so a query for jobs can leave them out."""
CHAIN_JOB_CLASS = "chain"
"""The ``JobClass`` of a chain's workflow."""
CHAIN_JOBS_MEMO = "chain_jobs"
"""Memo key of a chain's number of jobs, so monitoring can count what it has not run yet."""
SUMMARY_LIMIT = 400
"""Characters of a start's summary; the Web UI shows one line of it."""


@dataclass(frozen=True)
class JobStart:
    """Search attributes, summary and priority of one JobWorkflow start."""

    search_attributes: TypedSearchAttributes
    summary: str
    priority: Priority


def job_start(job_input: JobInput, *, summary: str, now: datetime | None = None) -> JobStart:
    """The start attributes of ``job_input``'s JobWorkflow: visibility says it is queued.

    ``now`` (the dispatch time) lets a near deadline raise the start's priority; a schedule's
    action, fixed in advance, leaves it out. The fairness key defaults to the job class.
    """
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(JOB_CLASS, job_input.job),
        SearchAttributePair(JOB_QUEUE, job_input.policy.queue),
        SearchAttributePair(JOB_STATUS, JobState.QUEUED.value),
    ]
    if job_input.batch_id:
        pairs.append(SearchAttributePair(BATCH_ID, job_input.batch_id))
    return JobStart(
        search_attributes=TypedSearchAttributes(pairs),
        summary=summary[:SUMMARY_LIMIT],
        priority=task_priority(job_input.policy, now, job_input.job),
    )


def batch_search_attributes(batch_id: str, queue: str) -> TypedSearchAttributes:
    """The search attributes of a batch's workflow (its chunks inherit them)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(BATCH_ID, batch_id),
            SearchAttributePair(JOB_QUEUE, queue),
            SearchAttributePair(JOB_CLASS, BATCH_JOB_CLASS),
        ]
    )


def chain_search_attributes(queue: str) -> TypedSearchAttributes:
    """The search attributes of a chain's workflow: monitoring finds open chains by queue."""
    return TypedSearchAttributes(
        [SearchAttributePair(JOB_QUEUE, queue), SearchAttributePair(JOB_CLASS, CHAIN_JOB_CLASS)]
    )
