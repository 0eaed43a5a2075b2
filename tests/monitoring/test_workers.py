"""Worker health from real worker processes: up with their pids, lost after kill -9, stopped
after a drain."""

from __future__ import annotations

import signal

import pytest
from temporalio.client import Client

from jobmodule import JobMonitor, WorkerInfo
from tests import sample_jobs as jobs
from tests.conftest import wait_until


async def by_pid(pids: set[int]) -> dict[int, WorkerInfo]:
    return {info.pid: info for info in await JobMonitor().workers() if info.pid in pids}


async def test_two_workers_show_with_their_pids_then_lost_after_kill_9_and_stopped_after_sigterm(
    client: Client, queue: str, spawn_worker, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("JOBS_MONITOR_REPORT_SECONDS", "1")
    other_queue = f"{queue}-other"
    killed = spawn_worker(queue)
    drained = spawn_worker(other_queue)
    pids = {killed.pid, drained.pid}
    await (await jobs.Add.dispatch(a=1).on_queue(queue)).result()

    async def both_up() -> bool:
        seen = await by_pid(pids)
        return len(seen) == 2 and all(info.status == "up" for info in seen.values())

    await wait_until(both_up, timeout=30)
    seen = await by_pid(pids)
    assert seen[killed.pid].queues == [queue] and seen[drained.pid].queues == [other_queue]
    assert seen[killed.pid].slots == 100 and seen[killed.pid].rss_mb > 10

    async def processed_one() -> bool:
        return (await by_pid(pids))[killed.pid].jobs_processed == 1

    await wait_until(processed_one, timeout=30)

    killed.send_signal(signal.SIGKILL)
    killed.wait()

    async def lost() -> bool:
        return (await by_pid(pids))[killed.pid].status == "lost"

    await wait_until(lost, timeout=60, interval=1)

    drained.send_signal(signal.SIGTERM)
    assert await wait_until(lambda: drained.poll() is not None, timeout=30)

    async def stopped() -> bool:
        return (await by_pid(pids))[drained.pid].status == "stopped"

    await wait_until(stopped, timeout=10)
    # The lost one stays lost: only a goodbye makes a worker stopped.
    assert (await by_pid(pids))[killed.pid].status == "lost"
