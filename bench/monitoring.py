"""WM: what monitoring costs, and what reading it costs.

W1, W2 and W4 run twice each, once with monitoring on (the default: every worker reports to
the metrics workflow, our instruments record, traces propagate) and once with it off
(``JOBS_MONITORING=false``, ``JOBS_TRACING=false`` for the worker, a client without tracing for
the dispatches); the order alternates from one workload and one repetition to the next. Then
``JobMonitor.get_queue_stats()`` is timed with 100 batches open on the queue.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import TYPE_CHECKING, Any

from bench import jobs
from bench.common import gather_bounded, poll_until
from bench.servers import stop_process
from bench.workers import start_our_worker
from jobmodule import Bus, JobMonitor, get_default_client, set_default_client
from jobmodule.batches.handle import BatchHandle
from jobmodule.connection import connect

if TYPE_CHECKING:
    from bench.ours import OurSide

Result = dict[str, Any]

OFF = {"JOBS_MONITORING": "false", "JOBS_TRACING": "false"}
FIGURES = {"w1": "jobs_per_s", "w2": "jobs_per_s", "w4": "result_p50_ms"}
"""The figure compared on and off, per workload."""
MONITOR_CALLS = 5
_turn = itertools.count()
"""Alternates which mode runs first, across workloads and repetitions."""


async def monitoring_overhead(side: OurSide, queue: str) -> Result:
    """One WM repetition: on/off pairs of W1, W2, W4, then the JobMonitor call."""
    on_client = await get_default_client()
    off_client = await connect(target_host=side.ctx.temporal_address, tracing=False)
    result: Result = {}
    try:
        for workload, figure in FIGURES.items():
            modes = ["on", "off"] if next(_turn) % 2 == 0 else ["off", "on"]
            for mode in modes:
                side.worker_env = OFF if mode == "off" else {}
                set_default_client(off_client if mode == "off" else on_client)
                run = await getattr(side, f"w_{workload}")(f"{queue}-{workload}-{mode}")
                result[f"{workload}_{figure}_{mode}"] = run[figure]
            result[f"{workload}_on_vs_off"] = (
                result[f"{workload}_{figure}_on"] / result[f"{workload}_{figure}_off"]
            )
    finally:
        side.worker_env = {}
        set_default_client(on_client)
    return {**result, **await monitor_call(side, f"{queue}-read")}


async def monitor_call(side: OurSide, queue: str) -> Result:
    """Milliseconds of ``get_queue_stats()`` with ``wm_batches`` batches open on the queue."""
    count = side.ctx.sizes.wm_batches
    worker = start_our_worker(side.ctx, queue)
    monitor = JobMonitor().using(side.client)
    batches: list[BatchHandle] = []
    try:

        async def open_one(i: int) -> BatchHandle:
            return await Bus.batch([jobs.Hold(i=i, seconds=300)]).on_queue(queue).dispatch()

        batches = await gather_bounded(count, open_one, 20)

        async def all_running() -> bool:
            [row] = await monitor.get_queue_stats(queue=queue)
            return row.running == count

        await poll_until(all_running, limit_s=120, interval=1.0)
        calls, snapshots = [], []
        for _ in range(MONITOR_CALLS):
            began = time.perf_counter()
            await monitor.get_queue_stats(queue=queue)
            calls.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            snapshot = await monitor.snapshot()
            snapshots.append((time.perf_counter() - began) * 1000)
        return {
            "monitor_call_ms": statistics.median(calls),
            "monitor_snapshot_ms": statistics.median(snapshots),
            "monitor_queues": len(snapshot.queues),
            "open_batches": count,
        }
    finally:
        await gather_bounded(len(batches), lambda i: batches[i].cancel(), 20)
        stop_process(worker)
