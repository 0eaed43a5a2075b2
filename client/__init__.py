"""jobmodule: durable background jobs, batches and cron schedules on Temporal.

```python
from jobmodule import Job

class ProcessUserData(Job):
    user_id: int
    tries = 3
    async def handle(self) -> None: ...

job = await ProcessUserData.dispatch(user_id=7)
```

This package is the public API; each concept lives in a folder of its own (``jobs``,
``batches``, ``failures``, ``schedules``, ``monitoring``), above ``workflows`` and
``activities``. Everything a user needs is exported here, every error included.
"""

from jobmodule.activities import (
    ChunkHistoryError,
    JobBatch,
    JobDefinitionError,
    JobFailure,
    JobModuleError,
    JobPolicy,
    PayloadTooLargeError,
    UnknownJobError,
)
from jobmodule.batches import BatchHandle, Bus, ChainHandle, PendingBatch, PendingChain
from jobmodule.connection import connect, get_default_client, set_default_client
from jobmodule.errors import (
    BatchClosedError,
    BatchNotFoundError,
    BatchOperationError,
    BatchStateError,
    JobCancelledError,
    JobDeadLetteredError,
    JobExpiredError,
    JobForgottenError,
    JobNotFoundError,
    JobTerminatedError,
    NotDeadLetteredError,
    SearchAttributesMissingError,
    ServerUnreachableError,
)
from jobmodule.failures import FailedJob, FailureGroup, FailureHandler
from jobmodule.jobs import (
    CoalescedJobHandle,
    Job,
    JobHandle,
    JobInfo,
    JobPage,
    JobService,
    PendingDispatch,
    job_handle,
)
from jobmodule.monitoring import JobMonitor, JobStats, MonitorSnapshot, QueueStats, WorkerInfo
from jobmodule.notifications import Notice, Notifier
from jobmodule.schedules import (
    InvalidCronError,
    InvalidTimezoneError,
    JobSchedule,
    JobScheduler,
    ScheduleNotFoundError,
    ScheduleOptions,
    ScheduleRun,
)
from jobmodule.settings import JobSettings
from jobmodule.workflows import ChainResult, JobOutcome, JobState

__all__ = [
    # defining and dispatching jobs
    "Job",
    "JobPolicy",
    "PendingDispatch",
    "JobHandle",
    "CoalescedJobHandle",
    "job_handle",
    "JobService",
    "JobInfo",
    "JobPage",
    "JobState",
    "JobOutcome",
    "JobFailure",
    # batches and chains
    "Bus",
    "PendingBatch",
    "PendingChain",
    "BatchHandle",
    "ChainHandle",
    "JobBatch",
    "ChainResult",
    # schedules
    "JobScheduler",
    "JobSchedule",
    "ScheduleRun",
    "ScheduleOptions",
    # the dead-letter queue
    "FailureHandler",
    "FailedJob",
    "FailureGroup",
    # monitoring
    "JobMonitor",
    "QueueStats",
    "JobStats",
    "WorkerInfo",
    "MonitorSnapshot",
    # notifications
    "Notifier",
    "Notice",
    # connection and settings
    "connect",
    "get_default_client",
    "set_default_client",
    "JobSettings",
    # errors: every one derives from JobModuleError
    "JobModuleError",
    "JobDefinitionError",
    "UnknownJobError",
    "PayloadTooLargeError",
    "ServerUnreachableError",
    "SearchAttributesMissingError",
    "JobNotFoundError",
    "NotDeadLetteredError",
    "JobDeadLetteredError",
    "JobForgottenError",
    "JobExpiredError",
    "JobCancelledError",
    "JobTerminatedError",
    "BatchClosedError",
    "BatchNotFoundError",
    "BatchStateError",
    "BatchOperationError",
    "ChunkHistoryError",
    "ScheduleNotFoundError",
    "InvalidCronError",
    "InvalidTimezoneError",
]
