"""A fresh server without jobmodule's search attributes: the first dispatch registers them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from jobmodule import FailureHandler, JobState
from jobmodule.dev.server import temporal_binary
from jobmodule.workflows import ALL_SEARCH_ATTRIBUTES
from tests import sample_jobs as jobs


@pytest.fixture
async def bare_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this test's own that knows none of our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        ip="127.0.0.1",
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def registered(env: WorkflowEnvironment) -> set[str]:
    client = env.client
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return set(response.custom_attributes)


async def test_a_dispatch_before_any_worker_ran_registers_the_search_attributes(
    bare_server: WorkflowEnvironment,
):
    ours = {key.name for key in ALL_SEARCH_ATTRIBUTES}
    assert not ours & await registered(bare_server)
    job = await jobs.Add.dispatch(a=1).on_queue("nobody").using(bare_server.client)
    assert ours <= await registered(bare_server)
    assert await job.status() == JobState.QUEUED
    assert await FailureHandler().using(bare_server.client).list() == []
