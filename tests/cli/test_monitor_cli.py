"""``jobmodule monitor`` and ``jobmodule workers``: JSON for scripts, a live view in a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests import sample_jobs as jobs
from tests.cli.test_commands import JOBMODULE, REPO, jobs_cli
from tests.conftest import TEST_SETTINGS, WorkerFactory, wait_until

FAST = TEST_SETTINGS.model_copy(update={"monitor_report_seconds": 0.5})


async def test_monitor_once_json_parses_and_holds_the_queue_and_its_worker(
    server_address: str, queue: str, worker: WorkerFactory
):
    async with worker(queue, settings=FAST):
        await (await jobs.Add.dispatch(a=1).on_queue(queue)).result()

        async def reported() -> bool:
            code, out, _ = await jobs_cli(server_address, "monitor", "--once", "--json")
            rows = {row["queue"]: row for row in json.loads(out)["queues"]}
            return code == 0 and rows.get(queue, {}).get("processed") == 1

        await wait_until(reported, timeout=30, interval=0.5)
        code, out, _ = await jobs_cli(server_address, "workers", "--queue", queue, "--json")
    assert code == 0
    [me] = json.loads(out)
    assert me["pid"] == os.getpid() and me["queues"] == [queue] and me["status"] == "up"
    code, out, _ = await jobs_cli(server_address, "monitor", "--once", "--json", "--queue", queue)
    document = json.loads(out)
    assert set(document) == {"queues", "workers"}
    [row] = document["queues"]
    assert row["queue"] == queue and row["processed"] == 1 and row["pending"] == 0


def terminal_env() -> dict[str, str]:
    """The test's environment without COLUMNS/LINES: tmux would size its window from them."""
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


@pytest.fixture
def tmux() -> Iterator[list[str]]:
    """A tmux server of this test's own (its own socket), killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    command = ["tmux", "-L", f"jobmodule-test-{uuid.uuid4().hex[:8]}"]
    yield command
    subprocess.run([*command, "kill-server"], capture_output=True, env=terminal_env())


async def test_live_view_draws_queues_workers_and_totals_in_a_real_terminal(
    server_address: str, queue: str, worker: WorkerFactory, tmux: list[str]
):
    env = f"TEMPORAL_ADDRESS={server_address}"
    async with worker(queue, settings=FAST):
        await (await jobs.Add.dispatch(a=1).on_queue(queue)).result()
        start = await asyncio.create_subprocess_exec(
            *tmux, "new-session", "-d", "-x", "220", "-y", "60", "-c", str(REPO),
            f"env {env} {JOBMODULE} monitor --queue {queue} --interval 0.5; sleep 60",
            env=terminal_env(),
        )  # fmt: skip
        assert await start.wait() == 0

        async def screen() -> str:
            capture = await asyncio.create_subprocess_exec(
                *tmux, "capture-pane", "-p", stdout=asyncio.subprocess.PIPE
            )
            out, _ = await capture.communicate()
            return out.decode()

        async def drawn() -> bool:
            text = await screen()
            # Redrawn in place until the finished job shows up in the queue's figures.
            return queue in text and "Workers" in text and "1 processed" in text

        try:
            await wait_until(drawn, timeout=30, interval=0.5)
        finally:
            text = await screen()
            print(text)
    assert "Queues (window 15m)" in text and "Pending" in text
    assert str(os.getpid()) in text and "up" in text
    assert text.count("Queues (window") == 1  # redrawn in place, not scrolled
