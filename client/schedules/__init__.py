"""Cron schedules of jobs on Temporal Schedules: ``JobScheduler``, faithful cron, its models."""

from jobmodule.schedules.cron import (
    InvalidCronError,
    InvalidTimezoneError,
    describe_cron,
    next_run_times,
    validate_cron,
)
from jobmodule.schedules.models import (
    OVERLAP_POLICIES,
    PRIORITY_NAMES,
    JobSchedule,
    ScheduleNotFoundError,
    ScheduleOptions,
    ScheduleRun,
    ScheduleSummary,
)
from jobmodule.schedules.scheduler import JobScheduler

__all__ = [
    "JobScheduler",
    "JobSchedule",
    "ScheduleRun",
    "ScheduleSummary",
    "ScheduleOptions",
    "ScheduleNotFoundError",
    "InvalidCronError",
    "InvalidTimezoneError",
    "OVERLAP_POLICIES",
    "PRIORITY_NAMES",
    "describe_cron",
    "next_run_times",
    "validate_cron",
]
