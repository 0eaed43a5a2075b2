"""Deterministic orchestration: the job, batch, chunk and chain workflows, their models, and
the search attributes and start attributes they are found by."""

from jobmodule.workflows.batch import BatchWorkflow
from jobmodule.workflows.batch_models import (
    AddPageInput,
    BatchInput,
    BatchOptions,
    ChainInput,
    ChainResult,
)
from jobmodule.workflows.chain import ChainWorkflow
from jobmodule.workflows.chunk import BatchChunkWorkflow
from jobmodule.workflows.job import JobWorkflow
from jobmodule.workflows.job_models import JobInput, JobOutcome
from jobmodule.workflows.job_start import JobStart, batch_search_attributes, job_start
from jobmodule.workflows.limiter import LimiterWorkflow
from jobmodule.workflows.metrics import MetricsWorkflow
from jobmodule.workflows.notifications import NotificationWorkflow
from jobmodule.workflows.search_attributes import (
    ALL_SEARCH_ATTRIBUTES,
    BATCH_ID,
    FAILED_AT,
    FAILURE_GROUP,
    JOB_CLASS,
    JOB_QUEUE,
    JOB_STATUS,
)
from jobmodule.workflows.states import SETTLED_STATES, JobState

ALL_WORKFLOWS: list[type] = [
    JobWorkflow,
    BatchWorkflow,
    BatchChunkWorkflow,
    ChainWorkflow,
    LimiterWorkflow,
]
"""Every workflow a worker registers on its job queues."""
REPLAYED_WORKFLOWS: list[type] = [*ALL_WORKFLOWS, MetricsWorkflow, NotificationWorkflow]
"""Every workflow jobmodule ships (the metrics and notification workflows run on queues of
their own)."""

__all__ = [
    # workflows
    "ALL_WORKFLOWS",
    "JobWorkflow",
    "BatchWorkflow",
    "BatchChunkWorkflow",
    "ChainWorkflow",
    "LimiterWorkflow",
    "MetricsWorkflow",
    "NotificationWorkflow",
    "REPLAYED_WORKFLOWS",
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
    # search attributes and start attributes
    "JobStart",
    "job_start",
    "batch_search_attributes",
    "ALL_SEARCH_ATTRIBUTES",
    "BATCH_ID",
    "FAILED_AT",
    "FAILURE_GROUP",
    "JOB_CLASS",
    "JOB_QUEUE",
    "JOB_STATUS",
]
