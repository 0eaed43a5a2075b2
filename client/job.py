"""``client.Job``: the Job base class users subclass, with ``dispatch()`` added.

The runtime contract (fields, ``handle()``, policy, registry) lives in ``activities.Job``; this
subclass adds only the client side, so workers never need the dispatch machinery to run jobs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from activities import Job as BaseJob
from client.dispatch import PendingDispatch


class Job(BaseJob):
    """Subclass this: declare payload fields and policy, implement ``handle()``."""

    abstract: ClassVar[bool] = True

    @classmethod
    def dispatch(cls, **payload: Any) -> PendingDispatch:
        """Validate the payload now; ``await`` the result to send it (Laravel's ``dispatch``)."""
        return PendingDispatch(cls(**payload))

    @classmethod
    def dispatch_sync(cls, **payload: Any) -> Any:
        """Blocking dispatch, for code without an event loop: returns a ``JobHandle``."""
        return cls.dispatch(**payload).sync()

    def dispatch_self(self) -> PendingDispatch:
        """Dispatch this instance as it is."""
        return PendingDispatch(self)
