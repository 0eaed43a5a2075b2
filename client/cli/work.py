"""``jobmodule work`` and ``jobmodule dev``: a worker, or the embedded server with a worker."""

from __future__ import annotations

import argparse
from typing import Any

from jobmodule.dev.command import run_dev
from jobmodule.worker.main import main as worker_main
from jobmodule.worker.options import add_worker_arguments


async def cmd_work(args: argparse.Namespace) -> int:
    """``jobmodule work``: never reached; ``main`` hands ``work`` to the worker's own entry."""
    raise AssertionError("jobmodule work runs through jobmodule.worker.main")


def run_work(argv: list[str]) -> int:
    """``jobmodule work ARGS``: exactly ``python worker.py ARGS`` (a supervisor needs its own
    process and signal handling, so it does not run inside the CLI's event loop)."""
    return worker_main(argv)


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
    dev.add_argument(
        "--no-dashboard", action="store_true", help="do not serve the dashboard (port 8234)"
    )
    add_worker_arguments(command("work", cmd_work, "run a worker (same as worker.py)"))
