"""``list_batches``: pages of batches, newest first, each with its counters."""

from __future__ import annotations

from temporalio.client import Client

from jobmodule import Bus
from jobmodule.batches import list_batches
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory


async def test_batches_list_newest_first_with_their_counters_and_page_on(
    client: Client, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        done = (
            await Bus.batch([jobs.Add(a=i) for i in range(3)])
            .name("adds")
            .on_queue(queue)
            .dispatch()
        )
        await done.wait()
        failing = await (
            Bus.batch([jobs.FailsIf(token=queue, i=i, bad=[1]) for i in range(3)])
            .allow_failures()
            .on_queue(queue)
            .dispatch()
        )
        await failing.wait()
        page = await list_batches(client, limit=200)
        mine = {row.batch.id: row for row in page.batches if row.queue == queue}
        assert list(mine) == [failing.id, done.id]  # newest first
        first, second = mine[done.id], mine[failing.id]
        assert (first.batch.name, first.batch.total_jobs, first.batch.processed_jobs) == (
            "adds",
            3,
            3,
        )
        assert first.exact and first.batch.finished
        assert (second.batch.processed_jobs, second.batch.failed_jobs) == (2, 1)

        one = await list_batches(client, limit=1)
        assert len(one.batches) == 1 and one.next_page_token
        after = await list_batches(client, limit=1, page_token=one.next_page_token)
        assert after.batches[0].batch.id != one.batches[0].batch.id
