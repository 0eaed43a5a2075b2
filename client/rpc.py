"""How jobmodule talks to the server where a raw answer needs translating.

* ``not_found``: the one place an RPC's NOT_FOUND becomes our own error.
* ``execute_update``: an Update that rides out the transient answers a busy workflow gives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from temporalio.client import WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")

NOT_READY_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 1.0
RETRIED_STATUSES = frozenset(
    {RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE}
)
"""WorkflowNotReady, "workflow is closing" (a run in the middle of continue-as-new), and a
server that is down for a moment (a deploy, a restart): a wait rides it out."""


def is_transient(error: RPCError) -> bool:
    """Whether sending the request again can succeed: the server was busy, closing a run, or
    restarting. A connection cut mid-request by a restart reads UNKNOWN "transport error"."""
    if error.status in RETRIED_STATUSES:
        return True
    return error.status == RPCStatusCode.UNKNOWN and "transport error" in error.message


def is_not_found(error: BaseException) -> bool:
    """Whether ``error`` is the server saying the workflow, schedule or run does not exist."""
    return isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND


@contextlib.contextmanager
def not_found(make_error: Callable[[], Exception]) -> Iterator[None]:
    """Raise ``make_error()`` in place of an RPC's NOT_FOUND; let every other error through."""
    try:
        yield
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise make_error() from None
        raise


async def execute_update(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    *,
    args: Sequence[Any] = (),
    result_type: type[T],
) -> T:
    """``execute_update`` that keeps waiting while no worker answers or the workflow is mid-task.

    An update that meets a workflow task in flight (for example one that is completing) is
    answered with FAILED_PRECONDITION "WorkflowNotReady", and one that meets a run closing for
    continue-as-new with RESOURCE_EXHAUSTED "workflow is closing". Sent again, it reaches the
    new run, or finds the workflow closed (NOT_FOUND), which the caller handles. Our updates are
    idempotent (pages carry ids), so sending one twice is safe. ``update`` is the workflow's
    update method (``JobWorkflow.retry``) or its name.
    """
    delay = NOT_READY_BACKOFF_SECONDS
    while True:
        try:
            result: T = await handle.execute_update(update, args=args, result_type=result_type)
            return result
        except WorkflowUpdateRPCTimeoutOrCancelledError as error:
            if isinstance(error.__cause__, asyncio.CancelledError):
                # Our caller gave up (a timeout around result() or wait()): stop, don't resend.
                raise asyncio.CancelledError() from error
            continue  # no worker answered within the RPC deadline: keep waiting
        except RPCError as error:
            if not is_transient(error):
                raise
        await asyncio.sleep(delay)
        delay = min(MAX_BACKOFF_SECONDS, delay * 2)  # a rate limit also answers RESOURCE_EXHAUSTED
