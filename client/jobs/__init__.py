"""Jobs: the ``Job`` class users subclass, the dispatch builder, handles to follow a job, and
``JobService`` to search them."""

from jobmodule.jobs.dispatch import PendingDispatch
from jobmodule.jobs.handle import CoalescedJobHandle, JobHandle, job_handle
from jobmodule.jobs.info import JobInfo, JobPage
from jobmodule.jobs.job import Job
from jobmodule.jobs.service import JobService

__all__ = [
    "Job",
    "PendingDispatch",
    "JobHandle",
    "CoalescedJobHandle",
    "job_handle",
    "JobService",
    "JobInfo",
    "JobPage",
]
