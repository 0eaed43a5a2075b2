"""The dead-letter queue: ``FailureHandler`` and its rows, ``FailedJob``."""

from jobmodule.failures.handler import FailureHandler, dead_letter_query
from jobmodule.failures.models import FailedJob

__all__ = ["FailureHandler", "FailedJob", "dead_letter_query"]
