"""Where user code runs: the Job base class, its registry, and the activities that run jobs.

This package imports nothing else of jobmodule's, so workflow modules can pass it through the
sandbox and user job modules stay light.
"""

from collections.abc import Callable
from typing import Any

from activities.context import JobContext
from activities.errors import (
    INVALID_PAYLOAD,
    JOB_FAILED,
    JOB_RELEASED,
    NON_RETRYABLE_ERROR_TYPES,
    UNKNOWN_JOB,
    JobDefinitionError,
    JobFailedError,
    JobModuleError,
    JobReleasedError,
    PayloadTooLargeError,
    UnknownJobError,
)
from activities.failure import JobFailure
from activities.job import Job
from activities.models import FailedHookInput, RunJobInput
from activities.policy import BackoffSpec, JobPolicy
from activities.runner import run_failed_hook, run_job

ALL_ACTIVITIES: list[Callable[..., Any]] = [run_job, run_failed_hook]
"""Every activity a worker registers."""

__all__ = [
    # the job contract
    "Job",
    "JobPolicy",
    "BackoffSpec",
    "JobFailure",
    "JobContext",
    # activities and their inputs
    "ALL_ACTIVITIES",
    "run_job",
    "run_failed_hook",
    "RunJobInput",
    "FailedHookInput",
    # errors
    "JobModuleError",
    "JobDefinitionError",
    "JobFailedError",
    "JobReleasedError",
    "PayloadTooLargeError",
    "UnknownJobError",
    "JOB_FAILED",
    "JOB_RELEASED",
    "INVALID_PAYLOAD",
    "UNKNOWN_JOB",
    "NON_RETRYABLE_ERROR_TYPES",
]
