"""Deterministic orchestration: JobWorkflow and its input, outcome and search attributes."""

from workflows.job import JobWorkflow
from workflows.job_models import JobInput, JobOutcome
from workflows.search_attributes import (
    ALL_SEARCH_ATTRIBUTES,
    BATCH_ID,
    JOB_CLASS,
    JOB_QUEUE,
    JOB_STATUS,
)
from workflows.states import SETTLED_STATES, JobState

ALL_WORKFLOWS: list[type] = [JobWorkflow]
"""Every workflow a worker registers."""

__all__ = [
    # workflows
    "ALL_WORKFLOWS",
    "JobWorkflow",
    # models
    "JobInput",
    "JobOutcome",
    "JobState",
    "SETTLED_STATES",
    # search attributes
    "ALL_SEARCH_ATTRIBUTES",
    "BATCH_ID",
    "JOB_CLASS",
    "JOB_QUEUE",
    "JOB_STATUS",
]
