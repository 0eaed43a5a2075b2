"""The dead-letter queue: ``FailureHandler``, its rows (``FailedJob``) and causes
(``FailureGroup``)."""

from jobmodule.failures.handler import FailureHandler
from jobmodule.failures.models import FailedJob, FailureGroup

__all__ = ["FailureHandler", "FailedJob", "FailureGroup"]
