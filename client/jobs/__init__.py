"""Jobs: the ``Job`` class users subclass, the dispatch builder, and handles to follow a job."""

from jobmodule.jobs.dispatch import PendingDispatch
from jobmodule.jobs.handle import CoalescedJobHandle, JobHandle, job_handle
from jobmodule.jobs.job import Job

__all__ = ["Job", "PendingDispatch", "JobHandle", "CoalescedJobHandle", "job_handle"]
