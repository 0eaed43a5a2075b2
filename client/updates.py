"""Sending a workflow Update, riding out the transient answers a busy workflow gives."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar

from temporalio.client import WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")

NOT_READY_BACKOFF_SECONDS = 0.05


async def execute_update(
    handle: WorkflowHandle[Any, Any], name: str, *, args: Sequence[Any] = (), result_type: type[T]
) -> T:
    """``execute_update`` that keeps waiting while no worker answers or the workflow is mid-task.

    An update that meets a workflow task in flight (for example one that is completing) is
    answered with FAILED_PRECONDITION "WorkflowNotReady"; sent again, it is either accepted or
    finds the run closed (NOT_FOUND), which the caller handles.
    """
    while True:
        try:
            return await handle.execute_update(name, args=args, result_type=result_type)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            continue  # no worker answered within the RPC deadline: keep waiting
        except RPCError as error:
            if error.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
        await asyncio.sleep(NOT_READY_BACKOFF_SECONDS)
