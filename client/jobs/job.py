"""``jobmodule.Job``: the Job base class users subclass, with ``dispatch()`` added.

The runtime contract (fields, ``handle()``, policy, registry) lives in
``jobmodule.activities.Job``; this subclass adds only the client side, so workers never need
the dispatch machinery to run jobs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobmodule.activities import Job as BaseJob
from jobmodule.jobs.dispatch import PendingDispatch
from jobmodule.jobs.handle import JobHandle


class Job(BaseJob):
    """Subclass this: declare payload fields and policy, implement ``handle()``."""

    abstract: ClassVar[bool] = True

    @classmethod
    def dispatch(cls, **payload: Any) -> PendingDispatch:
        """Validate the payload now; ``await`` the result to send it (Laravel's ``dispatch``)."""
        return PendingDispatch(cls(**payload))

    @classmethod
    def dispatch_sync(cls, **payload: Any) -> JobHandle:
        """Blocking dispatch, for code without an event loop."""
        return cls.dispatch(**payload).sync()

    def dispatch_self(self) -> PendingDispatch:
        """Dispatch this instance as it is."""
        return PendingDispatch(self)
