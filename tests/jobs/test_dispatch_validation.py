"""Bad input fails at dispatch with a clear error, and nothing reaches the server."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from temporalio.client import Client

from jobmodule import Job, JobDefinitionError, PayloadTooLargeError, ServerUnreachableError, connect
from tests import sample_jobs as jobs


async def _jobs_on(client: Client, queue: str) -> int:
    return (await client.count_workflows(f'TaskQueue = "{queue}"')).count


async def test_invalid_payload_raises_validation_error_before_sending(client: Client, queue: str):
    with pytest.raises(ValidationError):
        jobs.Add.dispatch(a="seven")
    with pytest.raises(ValidationError):
        jobs.Add.dispatch(a=1, unexpected=2)
    assert await _jobs_on(client, queue) == 0


class HoldsAnObject(Job):
    thing: object

    async def handle(self) -> None:
        return None


async def test_unserialisable_field_raises_before_sending(client: Client, queue: str):
    with pytest.raises(PydanticSerializationError):
        await HoldsAnObject.dispatch(thing=object()).on_queue(queue)
    assert await _jobs_on(client, queue) == 0


async def test_payload_over_2mb_names_its_size_and_the_limit(client: Client, queue: str):
    with pytest.raises(PayloadTooLargeError, match=r"3,145,7\d\d bytes.*2,097,152"):
        await jobs.Big.dispatch(blob="x" * (3 * 1024 * 1024)).on_queue(queue)
    assert await _jobs_on(client, queue) == 0


async def test_invalid_dispatch_override_is_rejected_before_sending(client: Client, queue: str):
    with pytest.raises(ValidationError, match="tries"):
        await jobs.Add.dispatch(a=1).on_queue(queue).tries(0)
    with pytest.raises(ValidationError, match="timezone-aware"):
        await jobs.Add.dispatch(a=1).on_queue(queue).deadline(datetime(2030, 1, 1))
    assert await _jobs_on(client, queue) == 0


def test_invalid_class_policy_fails_when_the_class_is_defined():
    with pytest.raises(JobDefinitionError, match="tries"):

        class NoTries(Job):
            tries = 0


async def test_unreachable_server_names_the_address_and_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    with pytest.raises(ServerUnreachableError, match=r"127\.0\.0\.1:1.*jobmodule dev"):
        await connect()
