"""Our side: each workload against jobmodule, with its worker as a separate process.

Completion of independent jobs is read from the server's visibility store (a count query every
100 ms), so waiting adds no load to the worker; latency (W4) goes through ``JobHandle.result()``,
the path an application uses.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from temporalio.client import Client

from bench import jobs
from bench.common import (
    crash_outcome,
    gather_bounded,
    latency_summary,
    poll_until,
    watch_executions,
)
from bench.csv_import import Chunk, count_rows
from bench.engine_workflow import EmptyWorkflow
from bench.our_batches import batch_api, dispatch_batch
from bench.records import tally
from bench.sampler import TreeSampler
from bench.servers import kill_tree, stop_process
from bench.spec import Context, wait_budget
from bench.workers import start_engine_worker, start_our_worker

Result = dict[str, Any]


def dispatch(job: type[jobs.Job], i: int, queue: str, *, local: bool) -> Any:
    """``job(i=i)`` dispatched on ``queue``; as a local activity when ``local`` (W1L, W4L)."""
    pending = job.dispatch(i=i).on_queue(queue)
    return pending.local() if local else pending


async def closed_count(client: Client, queue: str) -> int:
    """Workflows on ``queue`` that are no longer running."""
    query = f'TaskQueue = "{queue}" AND ExecutionStatus != "Running"'
    return (await client.count_workflows(query)).count


async def wait_closed(client: Client, queue: str, expected: int) -> float:
    """Wall time at which ``expected`` workflows on ``queue`` had closed.

    A visibility count scans the dev server's SQLite table (25 ms at 18k executions), so polling
    it often would load the very server being measured, more with every repetition. It is
    polled once a second, and the time returned is the last close time the server recorded.
    """

    async def done() -> bool:
        return await closed_count(client, queue) >= expected

    await poll_until(done, limit_s=wait_budget(expected), interval=1.0)
    last = 0.0
    async for execution in client.list_workflows(f'TaskQueue = "{queue}"'):
        if execution.close_time is not None:
            last = max(last, execution.close_time.timestamp())
    return last


async def history_length(client: Client, workflow_id: str, run_id: str | None = None) -> int:
    """Events in one workflow's history, from describe()."""
    description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    return int(description.history_length)


async def completed_fraction(client: Client, queue: str, expected: int) -> float:
    """Share of the queue's workflows that completed (rather than failed or timed out)."""
    query = f'TaskQueue = "{queue}" AND ExecutionStatus = "Completed"'
    return (await client.count_workflows(query)).count / expected


class OurSide:
    """Runs workloads against jobmodule on the bench's dev server."""

    name = "ours"

    def __init__(self, ctx: Context, client: Client, server_pid: int) -> None:
        self.ctx = ctx
        self.client = client
        self.server_pid = server_pid
        self.worker_env: dict[str, str] = {}
        """Extra environment of the workers it starts (WM turns monitoring off with it)."""

    def _sampler(self, worker_pid: int) -> TreeSampler:
        return TreeSampler(
            {"worker": [worker_pid], "server": [self.server_pid], "driver": [os.getpid()]}
        )

    async def run(self, workload: str, **options: Any) -> Result:
        """Run one repetition of ``workload`` and return its measurements."""
        method = getattr(self, f"w_{workload.lower()}")
        result: Result = await method(f"bench-{workload.lower()}-{uuid.uuid4().hex[:8]}", **options)
        return result

    async def _independent(
        self, queue: str, count: int, engine: bool, local: bool = False
    ) -> Result:
        """W0 and W1: ``count`` workflows started concurrently, then waited for."""
        worker = (
            start_engine_worker(self.ctx, queue)
            if engine
            else start_our_worker(self.ctx, queue, env=self.worker_env)
        )
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                if engine:

                    async def send(i: int) -> Any:
                        return await self.client.start_workflow(
                            EmptyWorkflow.run, i, id=f"{queue}-{i}", task_queue=queue
                        )
                else:

                    async def send(i: int) -> Any:
                        return await dispatch(jobs.Noop, i, queue, local=local)

                handles = await gather_bounded(count, send, self.ctx.semaphore)
                dispatched = time.time()
                finished = await wait_closed(self.client, queue, count)
            wall = finished - start
            events = await history_length(self.client, handles[0].id)
            key = "workflows_per_s" if engine else "jobs_per_s"
            return {
                key: count / wall,
                "dispatch_per_s": count / (dispatched - start),
                "wall_s": wall,
                "history_events_per_job": events,
                "completed_fraction": await completed_fraction(self.client, queue, count),
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def w_w0(self, queue: str) -> Result:
        return await self._independent(queue, self.ctx.sizes.w0_workflows, engine=True)

    async def w_w1(self, queue: str) -> Result:
        return await self._independent(queue, self.ctx.sizes.w1_jobs, engine=False)

    async def w_w1l(self, queue: str) -> Result:
        return await self._independent(queue, self.ctx.sizes.w1_jobs, engine=False, local=True)

    async def w_w1c(self, queue: str) -> Result:
        """W1 dispatched with ``.coalesce()``: each burst of dispatches is one carrier batch."""
        from jobmodule.batches.handle import BatchHandle

        count = self.ctx.sizes.w1_jobs
        worker = start_our_worker(self.ctx, queue, env=self.worker_env)
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()

                async def send(i: int) -> Any:
                    return await jobs.Noop.dispatch(i=i).on_queue(queue).coalesce()

                handles = await gather_bounded(count, send, self.ctx.semaphore)
                dispatched = time.time()
                carriers = {handle.batch_id for handle in handles}
                batches = await asyncio.gather(
                    *(BatchHandle(id=carrier, client=self.client).wait() for carrier in carriers)
                )
                finished = time.time()
            wall = finished - start
            return {
                "jobs_per_s": count / wall,
                "dispatch_per_s": count / (dispatched - start),
                "wall_s": wall,
                "carriers": len(carriers),
                "completed_fraction": sum(batch.processed_jobs for batch in batches) / count,
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def _batch(
        self,
        queue: str,
        items: Any,
        count: int,
        callback: Any,
        record: Any,
        processes: int = 1,
        concurrency: int | None = None,
    ) -> Result:
        """W2/W2L/W3: one batch through ``Bus``; timed until its callback recorded a run."""
        batch_api()
        worker = start_our_worker(
            self.ctx, queue, processes=processes, concurrency=concurrency, env=self.worker_env
        )
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                batch, dispatched = await dispatch_batch(items, queue, callback)
                await asyncio.wait_for(batch.wait(), timeout=wait_budget(count))
                finished = time.time()
                if record is not None:
                    await watch_executions(record, 1, limit_s=30, stall_s=30)
                    finished = tally(record, 1).last_first_execution or finished
            wall = finished - start
            return {
                "wall_s": wall,
                "dispatch_s": dispatched - start,
                "callback_runs": tally(record, 1).executed if record is not None else None,
                "batch_id": str(getattr(batch, "id", "")),
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def w_w2(self, queue: str) -> Result:
        count = self.ctx.sizes.w2_jobs
        record = self.ctx.path(f"records/{queue}.callback")
        items = (jobs.Noop(i=i) for i in range(count))
        result = await self._batch(
            queue, items, count, jobs.RecordCallback(path=str(record)), record
        )
        return {"jobs_per_s": count / result["wall_s"], **result}

    async def w_w5(self, queue: str) -> Result:
        """W2 again, for the worker tree's peak RSS."""
        result = await self.w_w2(queue)
        return {"peak_rss_mib": result["worker_peak_rss_mib"], **result}

    async def w_w2l(self, queue: str) -> Result:
        count = self.ctx.sizes.w2l_jobs
        items = (jobs.Noop(i=i) for i in range(count))
        result = await self._batch(queue, items, count, None, None)
        result["max_history_events"] = await self._longest_history(queue, result["batch_id"])
        return {"jobs_per_s": count / result["wall_s"], **result}

    async def _longest_history(self, queue: str, batch_id: str) -> int:
        """Max history_length over the batch's orchestration workflows (and one job's)."""
        where = f'TaskQueue = "{queue}"'
        if batch_id:
            where = f'({where} OR BatchId = "{batch_id}")'
        longest = 0
        for query, limit in (
            (f'{where} AND WorkflowType != "JobWorkflow"', 2000),
            (f'{where} AND WorkflowType = "JobWorkflow"', 1),
        ):
            async for execution in self.client.list_workflows(query, limit=limit):
                events = await history_length(self.client, execution.id, execution.run_id)
                longest = max(longest, events)
        return longest

    async def w_w3(self, queue: str, *, csv_path: str, chunks: list[Chunk], rows: int) -> Result:
        from bench.csv_import import prepare_db

        db = self.ctx.path(f"w3/{queue}.db")
        prepare_db(db)
        record = self.ctx.path(f"records/{queue}.done")
        items = (
            jobs.ImportChunk(csv_path=csv_path, offset=c.offset, rows=c.rows, db=str(db))
            for c in chunks
        )
        callback = jobs.ImportDone(db=str(db), path=str(record))
        # Four single-job processes, as Celery's prefork-4 (its calibrated pick here): parsing
        # CSV is CPU-bound under one interpreter lock per process, and SQLite has one writer.
        result = await self._batch(
            queue, items, rows // 100, callback, record, processes=4, concurrency=1
        )
        imported = count_rows(str(db))
        return {"rows_per_s": rows / result["wall_s"], "rows_imported": imported, **result}

    async def w_w4(self, queue: str, local: bool = False) -> Result:
        worker = start_our_worker(self.ctx, queue, env=self.worker_env)
        try:
            for i in range(3):  # warm-up, not measured (connections, sandbox imports)
                await (await dispatch(jobs.Stamp, i, queue, local=local)).result()
            starts: list[float] = []
            results: list[float] = []
            with self._sampler(worker.pid) as sampler:
                begin = time.time()
                for i in range(self.ctx.sizes.w4_jobs):
                    sent = time.time()
                    handle = await dispatch(jobs.Stamp, i, queue, local=local)
                    started = await asyncio.wait_for(handle.result(), timeout=60)
                    results.append(time.time() - sent)
                    starts.append(float(started) - sent)
            return {
                **latency_summary("start", starts),
                **latency_summary("result", results),
                "wall_s": time.time() - begin,
                **sampler.summary(time.time() - begin),
            }
        finally:
            stop_process(worker)

    async def w_w4l(self, queue: str) -> Result:
        return await self.w_w4(queue, local=True)

    async def w_w7(self, queue: str) -> Result:
        """W7: a backlog of ``low`` jobs with no worker, then a worker and ``high`` jobs."""
        sizes = self.ctx.sizes
        lows, highs = sizes.w7_low_jobs, sizes.w7_high_jobs

        def job(i: int, level: str) -> Any:
            pending = jobs.StampSleep.dispatch(i=i, seconds=sizes.w7_job_seconds)
            return pending.on_queue(queue).priority(level)

        async def send_low(i: int) -> Any:
            return await job(i, "low")

        async def send_high(i: int) -> tuple[float, Any]:
            sent = time.time()
            return sent, await job(i, "high")

        await gather_bounded(lows, send_low, self.ctx.semaphore)
        worker = start_our_worker(self.ctx, queue)
        try:
            with self._sampler(worker.pid) as sampler:
                begin = time.time()
                sent = await asyncio.gather(*(send_high(i) for i in range(highs)))
                limit = wait_budget(lows)
                starts = [
                    float(await asyncio.wait_for(handle.result(), timeout=limit)) - at
                    for at, handle in sent
                ]
                finished = await wait_closed(self.client, queue, lows + highs)
            wall = finished - begin
            return {
                **latency_summary("high_start", starts),
                "backlog_drain_s": wall,
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def w_wm(self, queue: str) -> Result:
        """W1, W2 and W4 with monitoring on and off, and a JobMonitor call (bench.monitoring)."""
        from bench.monitoring import monitoring_overhead

        return await monitoring_overhead(self, queue)

    async def w_wd(self, queue: str) -> Result:
        """The dashboard's pages over a seeded namespace (bench.dashboard)."""
        from bench.dashboard import dashboard_pages

        return await dashboard_pages(self, queue)

    async def w_w6(self, queue: str) -> Result:
        batch_api()
        return await self._crash(queue, grouped=True)

    async def w_w6i(self, queue: str) -> Result:
        return await self._crash(queue, grouped=False)

    async def _crash(self, queue: str, *, grouped: bool) -> Result:
        """W6: kill -9 the worker 1 s in, start another, count lost and duplicate executions."""
        sizes = self.ctx.sizes
        count = sizes.w6_jobs if grouped else sizes.w6i_jobs
        record = self.ctx.path(f"records/{queue}.exec")
        callback_record = self.ctx.path(f"records/{queue}.callback")
        worker = start_our_worker(self.ctx, queue, env=self.worker_env)
        replacement = None
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                items = [
                    jobs.Sleep2ms(i=i, path=str(record), seconds=sizes.w6_job_seconds)
                    for i in range(count)
                ]
                sending: asyncio.Future[Any]
                if grouped:
                    sending = asyncio.ensure_future(
                        dispatch_batch(items, queue, jobs.RecordCallback(path=str(callback_record)))
                    )
                else:
                    sending = asyncio.ensure_future(
                        gather_bounded(
                            count,
                            lambda i: items[i].dispatch_self().on_queue(queue).send(),
                            self.ctx.semaphore,
                        )
                    )
                await asyncio.sleep(max(0.0, start + sizes.w6_kill_after_seconds - time.time()))
                kill_tree(worker.pid)
                killed = time.time()
                worker.wait()
                replacement = start_our_worker(self.ctx, queue, env=self.worker_env)
                sampler.add_root("worker", replacement.pid)
                await asyncio.wait_for(sending, timeout=wait_budget(count))
                outcome = await crash_outcome(
                    record,
                    callback_record,
                    count=count,
                    killed=killed,
                    grouped=grouped,
                    limit_s=wait_budget(count),
                    # well past the 10 s attempt timeout that brings lost attempts back
                    stall_s=45.0,
                )
            return {**outcome, **sampler.summary(time.time() - start)}
        finally:
            stop_process(worker)
            if replacement is not None:
                stop_process(replacement)

    async def w_w6c(self, queue: str) -> Result:
        """W6C, chaos: kill -9 and a server restart under a batch and independent jobs
        (bench.chaos)."""
        from bench.chaos import chaos_run

        return await chaos_run(self, queue)
