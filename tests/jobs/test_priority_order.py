"""Which job runs first, on a real dev server (fairness on, one partition) and a real worker.

Each test fills a queue first, then starts a ``--concurrency 1`` worker process, and reads the
order the jobs started in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests import sample_jobs as jobs
from tests.conftest import lines, wait_until
from tests.flow_records import runs


def unique_queue(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def started_in_order(path: Path, total: int, spawn_worker: Any, queues: str) -> list[str]:
    spawn_worker(queues, "--concurrency", "1")
    await wait_until(lambda: lines(path) >= total, timeout=120, interval=0.2)
    return [run.tag for run in runs(path)]


async def test_a_worker_empties_its_first_queue_before_the_next(
    client: Any, spawn_worker: Any, tmp_path: Path
) -> None:
    hi, lo = unique_queue("hi"), unique_queue("lo")
    path = tmp_path / "runs"
    for i in range(10):
        await jobs.RecordsRun.dispatch(path=str(path), tag=f"lo{i}").on_queue(lo)
    for i in range(5):
        await jobs.RecordsRun.dispatch(path=str(path), tag=f"hi{i}").on_queue(hi)

    order = await started_in_order(path, 15, spawn_worker, f"{hi},{lo}")

    assert {f"hi{i}" for i in range(5)} <= set(order[:6]), order


async def test_priority_one_jobs_go_before_a_backlog_of_priority_five(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    for i in range(10):
        await jobs.RecordsRun.dispatch(path=str(path), tag=f"p5-{i}").on_queue(queue).priority(5)
    for i in range(5):
        await jobs.RecordsRun.dispatch(path=str(path), tag=f"p1-{i}").on_queue(queue).priority(1)

    order = await started_in_order(path, 15, spawn_worker, queue)

    assert {f"p1-{i}" for i in range(5)} <= set(order[:6]), order


async def test_fairness_keys_share_a_backlog_by_weight(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    for i in range(30):
        await (
            jobs.RecordsRun.dispatch(path=str(path), tag=f"a{i}")
            .on_queue(queue)
            .fairness("a", weight=3)
        )
    for i in range(30):
        await (
            jobs.RecordsRun.dispatch(path=str(path), tag=f"b{i}")
            .on_queue(queue)
            .fairness("b", weight=1)
        )

    order = await started_in_order(path, 20, spawn_worker, queue)

    first = order[:20]
    assert 12 <= sum(tag.startswith("a") for tag in first) <= 18, first


async def test_a_near_deadline_goes_before_its_level(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    for i in range(10):
        await jobs.RecordsRun.dispatch(path=str(path), tag=f"plain{i}").on_queue(queue)
    soon = datetime.now(UTC) + timedelta(minutes=1)
    for i in range(3):
        await jobs.RecordsRun.dispatch(path=str(path), tag=f"due{i}").on_queue(queue).deadline(soon)

    order = await started_in_order(path, 13, spawn_worker, queue)

    assert {f"due{i}" for i in range(3)} <= set(order[:5]), order
