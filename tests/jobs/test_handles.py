"""What a handle reports for a job that closed without settling, and a dispatch never sent."""

from __future__ import annotations

import gc
import warnings

import pytest
from temporalio.client import Client

from jobmodule import JobState, JobTerminatedError
from tests import sample_jobs as jobs


async def test_a_terminated_job_reads_terminated_and_its_result_says_so(client: Client, queue: str):
    job = await jobs.Add.dispatch(a=1).on_queue(queue)  # no worker: it stays queued
    await client.get_workflow_handle(job.id).terminate(reason="operator")
    assert await job.status() == JobState.TERMINATED
    with pytest.raises(JobTerminatedError, match="terminated"):
        await job.result()


def test_a_dispatch_that_is_never_awaited_warns_that_nothing_was_sent() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jobs.Add.dispatch(a=1)  # the `await` is missing
        gc.collect()
    [warning] = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "was never awaited, so the job was not sent" in str(warning.message)


def test_a_dispatch_whose_option_was_refused_does_not_warn_as_well() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="coalesce window"):
            jobs.Noop.dispatch().coalesce(window=-1)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
