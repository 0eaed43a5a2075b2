"""WD: each dashboard page's answer time with 10,000 jobs, 100 batches and 50 schedules.

Seeding: the 10,000 jobs are 100 batches of 100 (a job workflow each would take this 2-core
machine many minutes to start and run, and batch jobs are what most of a large
installation's jobs are), plus independent jobs of which some fail for good into five
root-cause groups, plus 50 schedules. Then ``jobmodule dashboard`` runs as its own process,
as an operator starts it, and each page is fetched ``wd_requests`` times in turn; p50/p95 per
page are reported. The budget is 300 ms per page.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from bench import jobs
from bench.common import gather_bounded, poll_until
from bench.servers import stop_process
from bench.workers import start_our_worker
from jobmodule import Bus, FailureHandler, JobScheduler
from jobmodule.batches.handle import BatchHandle
from jobmodule.visibility import all_of, equals
from jobmodule.workflows import JOB_QUEUE

if TYPE_CHECKING:
    from bench.ours import OurSide

Result = dict[str, Any]
BUDGET_MS = 300.0
CRONS = ("0 3 * * *", "*/15 * * * *", "30 6 * * 1-5", "0 */2 * * *", "5 4 1 * *")
STARTUP_S = 30.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> float:
    """Milliseconds to fetch ``url`` whole; raises on any status but 200."""
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as reply:
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{url}: HTTP {reply.status}")
    return (time.perf_counter() - began) * 1000


def start_dashboard(address: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TEMPORAL_ADDRESS": address}
    env.pop("JOBS_DASHBOARD_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "jobmodule.cli.main", "dashboard", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            fetch(f"http://127.0.0.1:{port}/static/dashboard.css")
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the dashboard did not start") from None
            time.sleep(0.1)  # the port opens when uvicorn is up; nothing to wait on but it


async def seed(side: OurSide, queue: str) -> Result:
    """The batches, independent and failed jobs and schedules; seconds each part took."""
    sizes = side.ctx.sizes
    began = time.perf_counter()

    async def one_batch(i: int) -> BatchHandle:
        items = [jobs.Noop(i=i * sizes.wd_batch_jobs + n) for n in range(sizes.wd_batch_jobs)]
        return await Bus.batch(items).name(f"import {i}").on_queue(queue).dispatch()

    batches = await gather_bounded(sizes.wd_batches, one_batch, 20)
    await gather_bounded(sizes.wd_solo_jobs, lambda i: jobs.Noop.dispatch(i=i).on_queue(queue), 100)
    failing = sizes.wd_failed_jobs
    await gather_bounded(failing, lambda i: jobs.Rejects.dispatch(i=i, kind=i).on_queue(queue), 50)
    dispatched = time.perf_counter() - began

    async def all_finished() -> bool:
        done = await gather_bounded(len(batches), lambda i: batches[i].status(), 20)
        return all(batch.finished for batch in done)

    await poll_until(all_finished, limit_s=1800, interval=2.0)
    handler = FailureHandler().using(side.client)

    async def parked() -> bool:
        return await handler.count(queue=queue) >= failing

    await poll_until(parked, limit_s=600, interval=1.0)
    open_jobs = all_of(
        'WorkflowType = "JobWorkflow"', 'ExecutionStatus = "Running"', equals(JOB_QUEUE.name, queue)
    )

    async def settled() -> bool:  # the independent jobs ran; only the dead-lettered stay open
        return (await side.client.count_workflows(open_jobs)).count <= failing

    await poll_until(settled, limit_s=3600, interval=2.0)
    scheduler = JobScheduler().using(side.client)
    await gather_bounded(
        sizes.wd_schedules,
        lambda i: scheduler.schedule(
            "bench.jobs.Noop", CRONS[i % len(CRONS)], payload={"i": i}, id=f"{queue}-s{i:03d}"
        ),
        10,
    )
    return {
        "seed_jobs": sizes.wd_batches * sizes.wd_batch_jobs + sizes.wd_solo_jobs + failing,
        "seed_batches": sizes.wd_batches,
        "seed_schedules": sizes.wd_schedules,
        "seed_dispatch_s": round(dispatched, 1),
        "seed_s": round(time.perf_counter() - began, 1),
    }


async def dashboard_pages(side: OurSide, queue: str) -> Result:
    """One WD repetition: seed, start the dashboard, time every page."""
    worker = start_our_worker(side.ctx, queue)
    dashboard: subprocess.Popen[bytes] | None = None
    try:
        result = await seed(side, queue)
        port = free_port()
        dashboard = await asyncio.to_thread(start_dashboard, side.ctx.temporal_address, port)
        failed = await FailureHandler().using(side.client).list(queue=queue, limit=1)
        base = f"http://127.0.0.1:{port}"
        pages = {
            "overview": "/",
            "queues": "/queues",
            "jobs": f"/jobs?queue={queue}",
            "jobs_failed": "/jobs?status=dead_lettered",
            "job": f"/jobs/{failed[0].id}",
            "failed": "/failed",
            "batches": "/batches",
            "schedules": "/schedules",
            "workers": "/workers",
        }
        for path in pages.values():  # warm up: the first call of each page imports and connects
            await asyncio.to_thread(fetch, base + path)
        slowest = 0.0
        for name, path in pages.items():
            times = [
                await asyncio.to_thread(fetch, base + path)
                for _ in range(side.ctx.sizes.wd_requests)
            ]
            result[f"{name}_p50_ms"] = round(statistics.median(times), 1)
            result[f"{name}_p95_ms"] = round(percentile(times, 0.95), 1)
            slowest = max(slowest, result[f"{name}_p95_ms"])
        result["slowest_p95_ms"] = slowest
        result["within_budget"] = 1 if slowest <= BUDGET_MS else 0
        return result
    finally:
        if dashboard is not None:
            stop_process(dashboard)
        await _delete_schedules(side, queue)
        stop_process(worker)


async def _delete_schedules(side: OurSide, queue: str) -> None:
    scheduler = JobScheduler().using(side.client)
    ids = [f"{queue}-s{i:03d}" for i in range(side.ctx.sizes.wd_schedules)]
    for schedule_id in ids:
        try:
            await scheduler.delete(schedule_id)
        except Exception:  # never created (a failed seed): nothing to clean
            pass
