"""A callback that fails for good is not just logged: it waits in the dead-letter queue."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from jobmodule import Bus, FailureHandler, JobHandle
from jobmodule.activities import ids
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory, wait_until
from tests.faults import fault_jobs


async def test_a_failing_then_callback_is_parked_and_runs_again_once_fixed(
    client: Client, queue: str, worker: WorkerFactory, tmp_path: Path
):
    path, fixed = tmp_path / "runs", tmp_path / "fixed"
    async with worker(queue, modules=["tests.sample_jobs", "tests.faults.fault_jobs"]):
        batch = await (
            Bus.batch([jobs.Add(a=1), jobs.Add(a=2)])
            .then(fault_jobs.FailsUntilFixed(path=str(path), fixed=str(fixed)))
            .on_queue(queue)
            .dispatch()
        )
        final = await batch.wait()
        assert final.finished and final.processed_jobs == 2
        assert final.failed_callbacks == ["then"]
        callback_id = ids.callback_job_id(batch.id, "then")
        dlq = FailureHandler().using(client)
        [parked] = await wait_until(lambda: dlq.list(queue=queue))
        assert parked.id == callback_id
        assert "the mail server is down" in parked.exception
        fixed.touch()
        await dlq.retry(callback_id)
        assert await JobHandle(id=callback_id, client=client).result() == "sent"
    assert path.read_text().split() == ["run", "run"]  # once as the callback, once retried
