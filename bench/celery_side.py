"""The Celery side: the same workloads on Celery 5 + Redis, in one of two profiles.

Dispatch is a plain loop in one thread (Celery's producer is synchronous); a group or chord is
sent with Celery's own ``group``/``chord``. Completion of result-bearing tasks is read from the
result backend's key count (Redis db 1, flushed before each run), which costs the worker nothing.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import uuid
from typing import Any

import redis
from celery import chord, group

from bench.celery_app import create_app
from bench.common import Skipped, crash_outcome, latency_summary, poll_until, watch_executions
from bench.csv_import import Chunk, count_rows, prepare_db
from bench.records import tally
from bench.sampler import TreeSampler
from bench.servers import kill_tree, stop_process
from bench.spec import OUR_VARIANTS, Context, wait_budget
from bench.workers import spawn_celery_worker, start_celery_worker, wait_celery_ready

Result = dict[str, Any]
DEFAULT_CONFIG = ("prefork", 4)
W5_CONFIG = ("prefork", 2)
"""W5's target is Celery prefork-2's worker tree, whichever pool W2 ran fastest with."""


class CelerySide:
    """Runs workloads against Celery with ``profile`` (``default`` or ``durable``)."""

    def __init__(self, ctx: Context, profile: str, redis_pid: int) -> None:
        self.ctx = ctx
        self.profile = profile
        self.name = "celery" if profile == "default" else "celery_durable"
        self.redis_pid = redis_pid
        self.app = create_app(profile, ctx.redis_urls[profile])
        self.redis = redis.Redis.from_url(ctx.redis_urls[profile] + "/1")
        self.configs: dict[str, tuple[str, int]] = {}
        """Workload -> (pool, concurrency), picked by the harness's calibration."""

    def close(self) -> None:
        """Drop result subscriptions while Redis still runs (they unsubscribe when collected)."""
        gc.collect()
        consumer = self.app.backend.result_consumer
        consumer.stop()
        # Results collected after Redis stops would try to unsubscribe from it.
        consumer.subscribed_to.clear()
        consumer._pubsub = None
        self.app.close()

    def config_for(self, workload: str) -> tuple[str, int]:
        """The pool and concurrency this workload runs with."""
        if workload == "W5":
            return W5_CONFIG
        fallback = self.configs.get("W2", DEFAULT_CONFIG)
        # W7's jobs are independent ones, as W1's: the same pool.
        key = "W1" if workload == "W7" else OUR_VARIANTS.get(workload, workload)
        return self.configs.get(key, fallback)

    def _start_worker(self, workload: str) -> Any:
        self.redis.flushall()
        pool, concurrency = self.config_for(workload)
        return start_celery_worker(
            self.ctx, self.app, profile=self.profile, pool=pool, concurrency=concurrency
        )

    def _sampler(self, worker_pid: int) -> TreeSampler:
        return TreeSampler(
            {"worker": [worker_pid], "server": [self.redis_pid], "driver": [os.getpid()]}
        )

    def _results_stored(self) -> int:
        return int(self.redis.dbsize())

    async def _wait_results(self, expected: int) -> float:
        async def done() -> bool:
            return self._results_stored() >= expected

        return await poll_until(done, limit_s=wait_budget(expected), interval=0.1)

    async def run(self, workload: str, **options: Any) -> Result:
        """Run one repetition of ``workload`` and return its measurements."""
        if workload in ("W0", "WM", "WD"):
            raise Skipped("n/a (Temporal only)" if workload == "W0" else "n/a (ours only)")
        if workload == "W6C":
            raise Skipped("n/a: Celery's W6 already loses jobs to one kill")
        method = getattr(self, f"w_{workload.lower()}")
        tag = f"{self.name}-{workload.lower()}-{uuid.uuid4().hex[:8]}"
        result: Result = await method(tag, **options)
        pool, concurrency = self.config_for(workload)
        result["config"] = f"{pool}-{concurrency}"
        return result

    async def w_w1l(self, tag: str) -> Result:
        """Celery has no local jobs: the same as W1."""
        return await self.w_w1(tag)

    async def w_w1c(self, tag: str) -> Result:
        """Celery sends each task on its own: the same as W1."""
        return await self.w_w1(tag)

    async def w_w1(self, tag: str) -> Result:
        count = self.ctx.sizes.w1_jobs
        worker = self._start_worker("W1")
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                for i in range(count):
                    self.app.send_task("bench.noop", args=(i,))
                dispatched = time.time()
                finished = await self._wait_results(count)
            wall = finished - start
            return {
                "jobs_per_s": count / wall,
                "dispatch_per_s": count / (dispatched - start),
                "wall_s": wall,
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def _chord(self, workload: str, header: list[Any], callback: Any, record: Any) -> Result:
        """Send a chord; timed until its callback recorded its run."""
        worker = self._start_worker(workload)
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                chord(header)(callback)
                dispatched = time.time()
                await watch_executions(
                    record, 1, limit_s=wait_budget(len(header)), stall_s=wait_budget(len(header))
                )
                finished = tally(record, 1).last_first_execution or time.time()
            wall = finished - start
            return {
                "wall_s": wall,
                "dispatch_s": dispatched - start,
                "callback_runs": tally(record, 1).executed,
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def w_w2(self, tag: str, workload: str = "W2") -> Result:
        count = self.ctx.sizes.w2_jobs
        record = self.ctx.path(f"records/{tag}.callback")
        header = [self.app.signature("bench.noop", args=(i,)) for i in range(count)]
        callback = self.app.signature("bench.callback", args=(str(record),), immutable=True)
        result = await self._chord(workload, header, callback, record)
        return {"jobs_per_s": count / result["wall_s"], **result}

    async def w_w5(self, tag: str) -> Result:
        """W2 again on prefork-2, for its worker tree's peak RSS."""
        result = await self.w_w2(tag, workload="W5")
        return {"peak_rss_mib": result["worker_peak_rss_mib"], **result}

    async def w_w2l(self, tag: str) -> Result:
        """A group (Celery's batch) of no-ops, done when every result is stored."""
        count = self.ctx.sizes.w2l_jobs
        worker = self._start_worker("W2L")
        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                group(self.app.signature("bench.noop", args=(i,)) for i in range(count))()
                dispatched = time.time()
                finished = await self._wait_results(count)
            wall = finished - start
            return {
                "jobs_per_s": count / wall,
                "wall_s": wall,
                "dispatch_s": dispatched - start,
                **sampler.summary(wall),
            }
        finally:
            stop_process(worker)

    async def w_w3(self, tag: str, *, csv_path: str, chunks: list[Chunk], rows: int) -> Result:
        db = self.ctx.path(f"w3/{tag}.db")
        prepare_db(db)
        record = self.ctx.path(f"records/{tag}.done")
        header = [
            self.app.signature("bench.import_chunk", args=(csv_path, c.offset, c.rows, str(db)))
            for c in chunks
        ]
        callback = self.app.signature(
            "bench.import_done", args=(str(db), str(record)), immutable=True
        )
        result = await self._chord("W3", header, callback, record)
        return {
            "rows_per_s": rows / result["wall_s"],
            "rows_imported": count_rows(str(db)),
            **result,
        }

    async def w_w4l(self, tag: str) -> Result:
        """Celery has no local jobs: the same as W4."""
        return await self.w_w4(tag)

    async def w_w4(self, tag: str) -> Result:
        worker = self._start_worker("W4")
        try:
            for i in range(3):  # warm-up, not measured
                self.app.send_task("bench.stamp", args=(i,)).get(timeout=60)
            starts: list[float] = []
            results: list[float] = []
            with self._sampler(worker.pid) as sampler:
                begin = time.time()
                for i in range(self.ctx.sizes.w4_jobs):
                    sent = time.time()
                    started = self.app.send_task("bench.stamp", args=(i,)).get(timeout=60)
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

    async def w_w7(self, tag: str) -> Result:
        """W7 with Celery's ``priority`` over Redis: 10 priority lists, read 0 first."""
        sizes = self.ctx.sizes
        lows, highs = sizes.w7_low_jobs, sizes.w7_high_jobs
        seconds = sizes.w7_job_seconds
        self.redis.flushall()
        app = create_app(self.profile, self.ctx.redis_urls[self.profile], priority=True)
        pool, concurrency = self.config_for("W7")
        process = None
        try:
            for i in range(lows):
                app.send_task("bench.stamp_sleep", args=(i, seconds), priority=9)
            process, name, log = spawn_celery_worker(
                self.ctx, profile=self.profile, pool=pool, concurrency=concurrency, priority=True
            )
            wait_celery_ready(app, process, name, log)
            with self._sampler(process.pid) as sampler:
                begin = time.time()
                sent = []
                for i in range(highs):
                    at = time.time()
                    task = app.send_task("bench.stamp_sleep", args=(i, seconds), priority=0)
                    sent.append((at, task))
                limit = wait_budget(lows)
                starts = [float(result.get(timeout=limit)) - at for at, result in sent]
                finished = await self._wait_results(lows + highs)
            wall = finished - begin
            return {
                **latency_summary("high_start", starts),
                "backlog_drain_s": wall,
                **sampler.summary(wall),
            }
        finally:
            if process is not None:
                stop_process(process)
            app.close()

    async def w_w6(self, tag: str) -> Result:
        return await self._crash(tag, grouped=True)

    async def w_w6i(self, tag: str) -> Result:
        return await self._crash(tag, grouped=False)

    async def _crash(self, tag: str, *, grouped: bool) -> Result:
        """W6: kill -9 the worker tree 1 s in, start another, count what was lost."""
        sizes = self.ctx.sizes
        count = sizes.w6_jobs if grouped else sizes.w6i_jobs
        record = self.ctx.path(f"records/{tag}.exec")
        callback_record = self.ctx.path(f"records/{tag}.callback")
        worker = self._start_worker("W6")
        pool, concurrency = self.config_for("W6")
        signatures = [
            self.app.signature("bench.sleep_record", args=(i, str(record), sizes.w6_job_seconds))
            for i in range(count)
        ]

        def send() -> None:
            if grouped:
                callback = self.app.signature(
                    "bench.callback", args=(str(callback_record),), immutable=True
                )
                chord(signatures)(callback)
            else:
                for signature in signatures:
                    signature.apply_async()

        crash: dict[str, Any] = {}
        timer: threading.Timer | None = None

        def kill_and_restart(sampler: TreeSampler) -> None:
            # A timer thread does the kill, so the sends stay on the main thread: Celery's
            # result backend is per thread, and a second one would outlive its Redis.
            kill_tree(worker.pid)
            crash["killed"] = time.time()
            worker.wait()
            crash["spawned"] = spawn_celery_worker(
                self.ctx, profile=self.profile, pool=pool, concurrency=concurrency
            )
            sampler.add_root("worker", crash["spawned"][0].pid)

        try:
            with self._sampler(worker.pid) as sampler:
                start = time.time()
                timer = threading.Timer(sizes.w6_kill_after_seconds, kill_and_restart, [sampler])
                timer.start()
                send()
                await asyncio.to_thread(timer.join, 60)
                killed = crash["killed"]
                replacement, name, log = crash["spawned"]
                wait_celery_ready(self.app, replacement, name, log)
                outcome = await crash_outcome(
                    record,
                    callback_record,
                    count=count,
                    killed=killed,
                    grouped=grouped,
                    limit_s=wait_budget(count),
                    # past the 10 s visibility timeout that brings unacked work back
                    stall_s=45.0,
                )
            return {**outcome, **sampler.summary(time.time() - start)}
        finally:
            if timer is not None:
                timer.cancel()
            stop_process(worker)
            if "spawned" in crash:
                stop_process(crash["spawned"][0])
