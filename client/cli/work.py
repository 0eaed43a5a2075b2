"""``jobmodule work`` and ``jobmodule dev``: a worker, or the embedded server with a worker."""

from __future__ import annotations

import argparse
from typing import Any

from jobmodule.dev.command import run_dev
from jobmodule.worker.options import add_worker_arguments, settings_from_args, split_list
from jobmodule.worker.processes import run_processes
from jobmodule.worker.runner import run_worker


async def cmd_work(args: argparse.Namespace) -> int:
    """``jobmodule work``: the same as ``python worker.py``."""
    if args.processes > 1:
        return run_processes(args)
    await run_worker(
        queues=split_list(args.queue),
        job_modules=split_list(args.jobs),
        settings=settings_from_args(args),
    )
    return 0


async def cmd_dev(args: argparse.Namespace) -> int:
    """``jobmodule dev``: the embedded server plus a worker (and, with --demo, the examples)."""
    return await run_dev(args)


def add_work_commands(command: Any) -> None:
    """Register ``dev`` and ``work`` through the main parser's ``command`` helper."""
    dev = command("dev", cmd_dev, "start the embedded Temporal dev server and a worker")
    add_worker_arguments(dev)
    dev.add_argument("--demo", action="store_true", help="run the checkout's examples/demo.py")
    dev.add_argument("--run", metavar="MODULE", help="run MODULE's async main(client) too")
    dev.add_argument("--headless", action="store_true", help="no Web UI")
    add_worker_arguments(command("work", cmd_work, "run a worker (same as worker.py)"))
