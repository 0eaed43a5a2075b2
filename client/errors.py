"""Errors the client raises. All derive from ``JobModuleError`` (defined in ``activities``)."""

from __future__ import annotations

from activities import JobFailure, JobModuleError


class ServerUnreachableError(JobModuleError, ConnectionError):
    """The Temporal server could not be reached."""

    def __init__(self, address: str, cause: BaseException) -> None:
        self.address = address
        super().__init__(
            f"Cannot reach the Temporal server at {address}: {cause}. "
            "Start the embedded server with `jobs dev` (or `make run`), or point "
            "TEMPORAL_ADDRESS at your cluster."
        )


class JobNotFoundError(JobModuleError, LookupError):
    """No job with that id exists."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"No job with id {job_id!r}. `jobs failed` lists dead-lettered jobs.")


class NotDeadLetteredError(JobModuleError):
    """retry/forget was asked of a job that is not in the dead-letter queue."""


class JobDeadLetteredError(JobModuleError):
    """The job exhausted its attempts and waits in the dead-letter queue."""

    def __init__(self, job_id: str, failure: JobFailure | None) -> None:
        self.job_id = job_id
        self.failure = failure
        detail = f"{failure.type}: {failure.message}" if failure else "no details"
        super().__init__(f"Job {job_id} is dead-lettered ({detail}). Retry: `jobs retry {job_id}`")


class JobForgottenError(JobModuleError):
    """The job was forgotten (dropped from the dead-letter queue); it has no result."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"Job {job_id} was forgotten after it failed; it has no result.")


class JobExpiredError(JobModuleError):
    """The job stayed in the dead-letter queue past its retention and closed as failed."""
