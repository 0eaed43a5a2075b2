"""Errors the client raises. Every one derives from ``JobModuleError`` (``jobmodule.activities``).

Errors of a subsystem with a folder of its own stay there (``InvalidCronError`` in schedules);
``jobmodule`` exports them all.
"""

from __future__ import annotations

from jobmodule.activities import JobFailure, JobModuleError


class ServerUnreachableError(JobModuleError, ConnectionError):
    """The Temporal server could not be reached."""

    def __init__(self, address: str, cause: BaseException) -> None:
        self.address = address
        super().__init__(
            f"Cannot reach the Temporal server at {address}: {cause}. "
            "Start the embedded server with `jobmodule dev` (or `make run`), or point "
            "TEMPORAL_ADDRESS at your cluster."
        )


class SearchAttributesMissingError(JobModuleError):
    """The namespace lacks jobmodule's search attributes, and registering them failed."""


# -- jobs -------------------------------------------------------------------------------------


class JobNotFoundError(JobModuleError, LookupError):
    """No job with that id exists."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"No job with id {job_id!r}. `jobmodule failed` lists dead-lettered jobs.")


class NotDeadLetteredError(JobModuleError):
    """retry/forget was asked of a job that is not in the dead-letter queue."""


class JobDeadLetteredError(JobModuleError):
    """The job exhausted its attempts and waits in the dead-letter queue."""

    def __init__(self, job_id: str, failure: JobFailure | None) -> None:
        self.job_id = job_id
        self.failure = failure
        detail = f"{failure.type}: {failure.message}" if failure else "no details"
        super().__init__(
            f"Job {job_id} is dead-lettered ({detail}). Retry: `jobmodule retry {job_id}`"
        )


class JobForgottenError(JobModuleError):
    """The job was forgotten (dropped from the dead-letter queue); it has no result."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"Job {job_id} was forgotten after it failed; it has no result.")


class JobExpiredError(JobModuleError):
    """The job stayed in the dead-letter queue past its retention and closed as failed."""


class JobCancelledError(JobModuleError):
    """The job was cancelled before it settled (for a coalesced job: its carrier batch was)."""


class JobTerminatedError(JobModuleError):
    """The job's workflow was closed by force (terminated, or timed out), without an outcome."""


# -- batches ----------------------------------------------------------------------------------


class BatchNotFoundError(JobModuleError, LookupError):
    """No batch with that id."""


class BatchClosedError(JobModuleError):
    """The batch has finished or was cancelled, so it takes no more jobs."""


class BatchStateError(JobModuleError):
    """The batch cannot do that now (e.g. retry_failed before it finished)."""


# -- the dead-letter queue --------------------------------------------------------------------


class BatchOperationError(JobModuleError):
    """A Temporal batch operation (bulk retry, flush) was refused or failed on the server."""
