"""Deterministic orchestration: JobWorkflow and its input, outcome and search attributes."""

from workflows.batch import BatchWorkflow
from workflows.batch_models import (
    AddPageInput,
    BatchInput,
    BatchOptions,
    ChainInput,
    ChainResult,
)
from workflows.chain import ChainWorkflow
from workflows.chunk import BatchChunkWorkflow
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

ALL_WORKFLOWS: list[type] = [JobWorkflow, BatchWorkflow, BatchChunkWorkflow, ChainWorkflow]
"""Every workflow a worker registers."""

__all__ = [
    # workflows
    "ALL_WORKFLOWS",
    "JobWorkflow",
    "BatchWorkflow",
    "BatchChunkWorkflow",
    "ChainWorkflow",
    "AddPageInput",
    "BatchInput",
    "BatchOptions",
    "ChainInput",
    "ChainResult",
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
