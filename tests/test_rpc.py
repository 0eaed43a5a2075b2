"""Updates that meet a busy or closing workflow are sent again."""

from __future__ import annotations

from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from jobmodule.rpc import execute_update, is_transient


class ClosingThenAccepting:
    """A workflow handle whose first update meets a run closing for continue-as-new."""

    def __init__(self) -> None:
        self.calls = 0

    async def execute_update(self, name: str, *, args: Any, result_type: Any) -> str:
        self.calls += 1
        if self.calls == 1:
            raise RPCError("workflow is closing", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
        return f"{name} accepted"


async def test_an_update_that_meets_continue_as_new_is_sent_again() -> None:
    handle = ClosingThenAccepting()
    result = await execute_update(handle, "add_page", result_type=str)  # type: ignore[arg-type]
    assert (result, handle.calls) == ("add_page accepted", 2)


class CutThenAccepting(ClosingThenAccepting):
    """A handle whose first update loses its connection to a restarting server."""

    async def execute_update(self, name: str, *, args: Any, result_type: Any) -> str:
        self.calls += 1
        if self.calls == 1:
            raise RPCError("transport error", RPCStatusCode.UNKNOWN, b"")
        return f"{name} accepted"


async def test_an_update_cut_off_by_a_server_restart_is_sent_again() -> None:
    handle = CutThenAccepting()
    result = await execute_update(handle, "add_page", result_type=str)  # type: ignore[arg-type]
    assert (result, handle.calls) == ("add_page accepted", 2)


def test_only_transient_answers_are_sent_again() -> None:
    assert is_transient(RPCError("transport error", RPCStatusCode.UNKNOWN, b""))
    assert is_transient(RPCError("down", RPCStatusCode.UNAVAILABLE, b""))
    assert not is_transient(RPCError("bad input", RPCStatusCode.INVALID_ARGUMENT, b""))
    assert not is_transient(RPCError("something else", RPCStatusCode.UNKNOWN, b""))
