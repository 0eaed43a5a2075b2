"""W0's worker process: ``python -m bench.engine_worker --queue Q``.

It builds its Worker exactly as ``worker.build_workers`` does (same workflow runner, same
concurrency settings) but registers only ``EmptyWorkflow``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta

from temporalio.worker import Worker

from bench.engine_workflow import EmptyWorkflow
from jobmodule.connection import connect
from jobmodule.settings import JobSettings
from jobmodule.worker import workflow_runner


async def run(queue: str) -> None:
    """Poll ``queue`` until SIGTERM or SIGINT."""
    settings = JobSettings()
    client = await connect()
    runner = workflow_runner(settings, "bench.engine_workflow")
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[EmptyWorkflow],
        workflow_runner=runner,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        print(f"worker ready: queues={queue}", flush=True)
        await stop.wait()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description="W0 engine-ceiling worker")
    parser.add_argument("--queue", required=True)
    asyncio.run(run(parser.parse_args().queue))


if __name__ == "__main__":
    main()
