"""The public API: define jobs, dispatch them, follow them, and work the dead-letter queue.

from client import Job

class ProcessUserData(Job):
    user_id: int
    tries = 3
    async def handle(self) -> None: ...

job = await ProcessUserData.dispatch(user_id=7)
"""

from activities import (
    JobBatch,
    JobDefinitionError,
    JobFailure,
    JobModuleError,
    JobPolicy,
    PayloadTooLargeError,
    UnknownJobError,
)
from client.batch_handle import (
    BatchClosedError,
    BatchHandle,
    BatchNotFoundError,
    BatchStateError,
    ChainHandle,
)
from client.bus import Bus, PendingBatch, PendingChain
from client.connection import connect, get_default_client, set_default_client
from client.dispatch import PendingDispatch
from client.errors import (
    JobDeadLetteredError,
    JobExpiredError,
    JobForgottenError,
    JobNotFoundError,
    NotDeadLetteredError,
    ServerUnreachableError,
)
from client.failures import FailedJob, FailureHandler
from client.handle import CoalescedJobHandle, JobHandle, job_handle
from client.job import Job
from client.scheduler import (
    JobSchedule,
    JobScheduler,
    ScheduleNotFoundError,
    ScheduleOptions,
    ScheduleRun,
)
from client.settings import JobSettings
from workflows import JobState

__all__ = [
    # defining and dispatching jobs
    "Job",
    "JobPolicy",
    "PendingDispatch",
    "JobHandle",
    "CoalescedJobHandle",
    "job_handle",
    "JobState",
    "JobFailure",
    # batches and chains
    "Bus",
    "PendingBatch",
    "PendingChain",
    "BatchHandle",
    "ChainHandle",
    "JobBatch",
    "BatchClosedError",
    "BatchNotFoundError",
    "BatchStateError",
    # schedules
    "JobScheduler",
    "JobSchedule",
    "ScheduleRun",
    "ScheduleOptions",
    "ScheduleNotFoundError",
    # the dead-letter queue
    "FailureHandler",
    "FailedJob",
    # connection and settings
    "connect",
    "get_default_client",
    "set_default_client",
    "JobSettings",
    # errors
    "JobModuleError",
    "JobDefinitionError",
    "UnknownJobError",
    "PayloadTooLargeError",
    "ServerUnreachableError",
    "JobNotFoundError",
    "NotDeadLetteredError",
    "JobDeadLetteredError",
    "JobForgottenError",
    "JobExpiredError",
]
