"""Rate limits, concurrency limits and without-overlapping, across real worker processes.

The limits live in a ``LimiterWorkflow`` on the server, so they hold across processes: each
test runs two worker processes, or one with far more free slots than the limit allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobmodule import Bus
from tests import sample_jobs as jobs
from tests.conftest import lines, wait_until
from tests.flow_records import most_at_once, overlap, runs


async def test_a_rate_limit_holds_across_two_worker_processes(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    spawn_worker(queue, "--processes", "2", ready=2)
    for i in range(20):
        await jobs.RateLimited.dispatch(path=str(path), tag=f"r{i}", seconds=0).on_queue(queue)

    await wait_until(lambda: lines(path) >= 20, timeout=90, interval=0.2)

    recorded = runs(path)
    # 4/s with a bucket of 4: 4 at once, then the other 16 at 250 ms each (4 s in all).
    assert recorded[-1].start - recorded[0].start >= 3.5
    assert {run.attempt for run in recorded} == {1}  # waiting for a permit spent no attempt


async def test_jobs_with_one_overlap_key_never_overlap_and_other_keys_run_alongside(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    spawn_worker(queue, "--processes", "2", ready=2)
    for i in range(6):
        await jobs.Exclusive.dispatch(path=str(path), tag=f"k1-{i}", seconds=1, key="k1").on_queue(
            queue
        )
    await jobs.Exclusive.dispatch(path=str(path), tag="k2", seconds=1, key="k2").on_queue(queue)

    await wait_until(lambda: lines(path) >= 7, timeout=120, interval=0.2)

    recorded = runs(path)
    same_key = [run for run in recorded if run.tag.startswith("k1")]
    assert most_at_once(same_key) == 1, same_key
    other = next(run for run in recorded if run.tag == "k2")
    assert any(overlap(other, run) for run in same_key), recorded


async def test_an_overlap_lock_frees_itself_when_the_worker_holding_it_dies(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    started = Path(f"{path}.started")
    doomed = spawn_worker(queue)
    await jobs.ExclusiveBrief.dispatch(path=str(path), tag="first", seconds=1.5, key="k").on_queue(
        queue
    )
    await wait_until(lambda: lines(started) >= 1, timeout=30)
    doomed.kill()  # mid-attempt, holding the lock of key "k"
    doomed.wait()
    await jobs.ExclusiveBrief.dispatch(path=str(path), tag="second", seconds=0.2, key="k").on_queue(
        queue
    )
    spawn_worker(queue)

    # The dead attempt times out after 3 s; its workflow gives the lock back, and both run.
    await wait_until(lambda: lines(path) >= 2, timeout=60, interval=0.2)

    recorded = runs(path)
    assert sorted(run.tag for run in recorded) == ["first", "second"]
    assert most_at_once(recorded) == 1
    assert next(run for run in recorded if run.tag == "first").attempt == 2


async def test_a_dispatch_names_its_own_overlap_key(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    spawn_worker(queue)
    for i in range(3):
        pending = jobs.RecordsRun.dispatch(path=str(path), tag=f"c{i}", seconds=0.5)
        await pending.on_queue(queue).without_overlapping("customer-7")

    await wait_until(lambda: lines(path) >= 3, timeout=60, interval=0.2)

    assert most_at_once(runs(path)) == 1


async def test_max_concurrency_holds_with_many_free_slots(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    spawn_worker(queue, "--concurrency", "20")
    for i in range(10):
        await jobs.CappedAtTwo.dispatch(path=str(path), tag=f"m{i}", seconds=0.5).on_queue(queue)

    await wait_until(lambda: lines(path) >= 10, timeout=90, interval=0.2)

    recorded = runs(path)
    assert most_at_once(recorded) == 2, recorded
    assert {run.attempt for run in recorded} == {1}


async def test_limits_hold_for_the_jobs_of_a_batch(
    client: Any, spawn_worker: Any, tmp_path: Path, queue: str
) -> None:
    path = tmp_path / "runs"
    spawn_worker(queue, "--processes", "2", ready=2)
    batch = await (
        Bus.batch([jobs.CappedAtTwo(path=str(path), tag=f"b{i}", seconds=0.5) for i in range(8)])
        .on_queue(queue)
        .dispatch()
    )

    finished = await batch.wait()

    assert finished.processed_jobs == 8 and finished.failed_jobs == 0
    assert most_at_once(runs(path)) == 2
