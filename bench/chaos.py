"""W6C, chaos at full size: kill -9 a child every few seconds and restart the server once,
under a batch and independent jobs on ``--processes 2``; count what was lost (ours only)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

import psutil

from bench import jobs
from bench.common import gather_bounded, watch_executions
from bench.our_batches import batch_api, dispatch_batch
from bench.records import tally
from bench.servers import stop_process
from bench.spec import Context, wait_budget
from bench.workers import start_our_worker

if TYPE_CHECKING:
    from bench.ours import OurSide

Result = dict[str, Any]


async def chaos_run(side: OurSide, queue: str) -> Result:
    """W6C: a batch and independent jobs on ``--processes 2`` while a child is killed -9
    every few seconds and the server is restarted once; count what was lost."""
    batch_api()
    sizes = side.ctx.sizes
    in_batch, solo = sizes.w6c_batch_jobs, sizes.w6c_solo_jobs
    record = side.ctx.path(f"records/{queue}.exec")
    callback_record = side.ctx.path(f"records/{queue}.callback")
    supervisor = start_our_worker(side.ctx, queue, processes=2)
    try:
        start = time.time()
        items = [
            jobs.Sleep2ms(i=i, path=str(record), seconds=sizes.w6_job_seconds)
            for i in range(in_batch + solo)
        ]
        batch = asyncio.ensure_future(
            dispatch_batch(items[:in_batch], queue, jobs.RecordCallback(path=str(callback_record)))
        )
        singles = asyncio.ensure_future(
            gather_bounded(
                solo,
                lambda i: items[in_batch + i].dispatch_self().on_queue(queue).send(),
                side.ctx.semaphore,
            )
        )
        disruptions = await _chaos(side.ctx, supervisor.pid, until=lambda: bool(batch.done()))
        await asyncio.wait_for(asyncio.gather(batch, singles), timeout=wait_budget(in_batch))
        total = in_batch + solo
        settled = await watch_executions(record, total, limit_s=wait_budget(total), stall_s=60.0)
        await watch_executions(callback_record, 1, limit_s=60.0, stall_s=60.0)
        await asyncio.sleep(2)  # a duplicate callback would show up here
        counts = tally(record, total)
        after = [tally(record, total, after=moment).first_after for moment in disruptions]
        open_workflows = await side.client.count_workflows(
            f'TaskQueue = "{queue}" AND ExecutionStatus = "Running"'
        )
        return {
            "lost": counts.lost,
            "duplicates": counts.duplicates,
            "callback_runs": tally(callback_record, 1).executed,
            "disruptions": len(disruptions),
            "recovery_s": max(
                (
                    found - moment
                    for found, moment in zip(after, disruptions, strict=True)
                    if found is not None
                ),
                default=None,
            ),
            "done_s": (counts.last_first_execution or time.time()) - start,
            "stuck_open": open_workflows.count,
            "settled": settled,
        }
    finally:
        stop_process(supervisor)


async def _chaos(ctx: Context, supervisor_pid: int, *, until: Any) -> list[float]:
    """Kill -9 one child every few seconds, restart the server once; return the moments."""
    sizes = ctx.sizes
    moments: list[float] = []
    rng = random.Random(6)
    for kill in range(sizes.w6c_kills):
        await asyncio.sleep(sizes.w6c_kill_every_seconds)
        children = psutil.Process(supervisor_pid).children()
        if children:
            rng.choice(children).kill()
            moments.append(time.time())
        if kill == 1 and ctx.restart_temporal is not None:
            moments.append(time.time())
            await ctx.restart_temporal(sizes.w6c_server_pause_seconds)
        if until() and kill >= 2:
            break
    return moments
