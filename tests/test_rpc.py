"""Updates that meet a busy or closing workflow are sent again."""

from __future__ import annotations

from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from jobmodule.rpc import execute_update, is_transient


class FailsOnceThenAccepts:
    """A workflow handle whose first update gets ``error``, and the next one is accepted."""

    def __init__(self, error: RPCError) -> None:
        self.error = error
        self.calls = 0

    async def execute_update(self, name: str, *, args: Any, result_type: Any) -> str:
        self.calls += 1
        if self.calls == 1:
            raise self.error
        return f"{name} accepted"


async def test_an_update_that_meets_continue_as_new_is_sent_again() -> None:
    closing = RPCError("workflow is closing", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
    handle = FailsOnceThenAccepts(closing)
    result = await execute_update(handle, "add_page", result_type=str)  # type: ignore[arg-type]
    assert (result, handle.calls) == ("add_page accepted", 2)


async def test_an_update_cut_off_by_a_server_restart_is_sent_again() -> None:
    cut = RPCError("transport error", RPCStatusCode.UNKNOWN, b"")  # the connection was cut
    handle = FailsOnceThenAccepts(cut)
    result = await execute_update(handle, "add_page", result_type=str)  # type: ignore[arg-type]
    assert (result, handle.calls) == ("add_page accepted", 2)


def test_only_transient_answers_are_sent_again() -> None:
    assert is_transient(RPCError("transport error", RPCStatusCode.UNKNOWN, b""))
    assert is_transient(RPCError("down", RPCStatusCode.UNAVAILABLE, b""))
    assert not is_transient(RPCError("bad input", RPCStatusCode.INVALID_ARGUMENT, b""))
    assert not is_transient(RPCError("something else", RPCStatusCode.UNKNOWN, b""))
