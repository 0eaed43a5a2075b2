"""Where user code runs: the Job base class, its registry, and the activities that run jobs.

This package imports nothing else of jobmodule's, so workflow modules can pass it through the
sandbox. Ids (``ids``) are built and parsed here, in the lowest layer, because every layer
reads them.
"""

from collections.abc import Callable
from typing import Any

from jobmodule.activities.batch_models import (
    BatchItem,
    GroupedJob,
    JobAttemptOutcome,
    JobBatch,
    JobGroupInput,
    JobGroupResult,
    JobSpec,
    LoadChunkItemsInput,
    LoadedItem,
)
from jobmodule.activities.context import JobContext
from jobmodule.activities.errors import (
    GROUP_INTERRUPTED,
    INVALID_PAYLOAD,
    JOB_FAILED,
    JOB_RELEASED,
    NON_RETRYABLE_ERROR_TYPES,
    TIMEOUT,
    UNKNOWN_JOB,
    ChunkHistoryError,
    JobDefinitionError,
    JobFailedError,
    JobModuleError,
    JobReleasedError,
    PayloadTooLargeError,
    UnknownJobError,
)
from jobmodule.activities.failure import JobFailure
from jobmodule.activities.flow import has_limits
from jobmodule.activities.group import run_job_group
from jobmodule.activities.job import Job, registry
from jobmodule.activities.limits import (
    LimitConfig,
    OpenHoldersInput,
    PermitGrant,
    PermitRelease,
    PermitRequest,
    Rate,
    RequestPermitInput,
    parse_rate,
)
from jobmodule.activities.load_chunk import load_chunk_items
from jobmodule.activities.models import FailedHookInput, RunJobInput
from jobmodule.activities.permits import open_holders, request_permit
from jobmodule.activities.policy import BackoffSpec, JobPolicy
from jobmodule.activities.registry import JobRegistry
from jobmodule.activities.runner import run_failed_hook, run_job

ALL_ACTIVITIES: list[Callable[..., Any]] = [
    run_job,
    run_failed_hook,
    run_job_group,
    load_chunk_items,
    request_permit,
    open_holders,
]
"""Every activity a worker registers."""

__all__ = [
    # the job contract
    "Job",
    "JobPolicy",
    "BackoffSpec",
    "JobFailure",
    "JobContext",
    "JobRegistry",
    "registry",
    # activities and their inputs
    "ALL_ACTIVITIES",
    "run_job",
    "run_failed_hook",
    "run_job_group",
    "RunJobInput",
    "FailedHookInput",
    # batches
    "JobBatch",
    "JobSpec",
    "BatchItem",
    "LoadChunkItemsInput",
    "LoadedItem",
    "load_chunk_items",
    "GroupedJob",
    "JobGroupInput",
    "JobGroupResult",
    "JobAttemptOutcome",
    # flow control
    "LimitConfig",
    "PermitRequest",
    "PermitGrant",
    "PermitRelease",
    "RequestPermitInput",
    "OpenHoldersInput",
    "Rate",
    "has_limits",
    "parse_rate",
    "request_permit",
    "open_holders",
    # errors
    "JobModuleError",
    "ChunkHistoryError",
    "JobDefinitionError",
    "JobFailedError",
    "JobReleasedError",
    "PayloadTooLargeError",
    "UnknownJobError",
    "JOB_FAILED",
    "GROUP_INTERRUPTED",
    "TIMEOUT",
    "JOB_RELEASED",
    "INVALID_PAYLOAD",
    "UNKNOWN_JOB",
    "NON_RETRYABLE_ERROR_TYPES",
]
