"""``jobmodule failed --group``, ``retry --group`` and ``failed prune`` from a shell."""

from __future__ import annotations

import asyncio
import json

from temporalio.client import Client

from jobmodule import FailureHandler
from tests.cli.test_commands import jobs_cli
from tests.conftest import WorkerFactory, wait_until
from tests.failures import root_cause_jobs as causes

MODULES = ["tests.sample_jobs", "tests.failures.root_cause_jobs"]


async def test_groups_are_listed_retried_and_pruned_from_the_shell(
    client: Client, server_address: str, queue: str, worker: WorkerFactory
):
    token = f"cli-groups-{queue}"
    dlq = FailureHandler().using(client)
    async with worker(queue, modules=MODULES):
        await asyncio.gather(
            *(causes.ImportsRow.dispatch(token=token, row=n).on_queue(queue) for n in (1, 2, 3)),
            causes.LooksUpKey.dispatch(token=token).on_queue(queue),
        )
        await wait_until(lambda: _count(dlq, queue, 4), timeout=30)
        listing = ("failed", "--group", "--queue", queue)
        code, out, _ = await jobs_cli(server_address, *listing, "--json")
        assert code == 0
        groups = json.loads(out)
        assert [(group["count"], group["exception_type"]) for group in groups] == [
            (3, "ValueError"),
            (1, "KeyError"),
        ]
        code, out, _ = await jobs_cli(server_address, *listing)
        assert code == 0 and "bad row <n>" in out and groups[0]["id"] in out
        causes.fixed.add(token)
        code, out, _ = await jobs_cli(server_address, "retry", "--group", groups[0]["id"])
        assert code == 0 and "retried 3 job(s)" in out
        await wait_until(lambda: _count(dlq, queue, 1), timeout=30)
        prune = ("failed", "prune", "--hours", "0", "--queue", queue)
        code, out, _ = await jobs_cli(server_address, *prune)
        assert code == 0 and "pruned 1 job(s)" in out
        await wait_until(lambda: _count(dlq, queue, 0), timeout=30)  # forgotten: closed


async def _count(dlq: FailureHandler, queue: str, expected: int) -> bool:
    return await dlq.count(queue=queue) == expected
