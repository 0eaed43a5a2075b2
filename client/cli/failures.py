"""``jobmodule failed | retry | forget | flush``: the dead-letter queue (Laravel's queue:failed)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from jobmodule.activities import JobModuleError
from jobmodule.cli.output import console, print_json
from jobmodule.connection import connect
from jobmodule.failures import FailureHandler


async def _handler() -> FailureHandler:
    return FailureHandler().using(await connect())


async def cmd_failed(args: argparse.Namespace) -> int:
    """``jobmodule failed``: the dead-letter queue (Laravel ``queue:failed``)."""
    rows = await (await _handler()).list(queue=args.queue, job=args.job, limit=args.limit)
    if args.json:
        print_json([row.model_dump(mode="json") for row in rows])
        return 0
    if not rows:
        console.print("No failed jobs.")
        return 0
    table = Table(title=f"Failed jobs ({len(rows)})")
    for column in ("ID", "Job", "Queue", "Attempts", "Failed at", "Exception"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.id,
            row.job,
            row.queue,
            str(row.attempts),
            row.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            row.exception[:120],
        )
    console.print(table)
    return 0


async def cmd_retry(args: argparse.Namespace) -> int:
    """``jobmodule retry ID`` or ``jobmodule retry --all``."""
    handler = await _handler()
    if args.all:
        count = await handler.retry_all(queue=args.queue)
        console.print(f"retried {count} job(s)")
        return 0
    if not args.id:
        raise JobModuleError("give a job id, or --all (see `jobmodule failed`)")
    await handler.retry(args.id)
    console.print(f"retrying {args.id}")
    return 0


async def cmd_forget(args: argparse.Namespace) -> int:
    """``jobmodule forget ID``."""
    await (await _handler()).forget(args.id)
    console.print(f"forgot {args.id}")
    return 0


async def cmd_flush(args: argparse.Namespace) -> int:
    """``jobmodule flush``: forget every dead-lettered job."""
    count = await (await _handler()).flush(queue=args.queue)
    console.print(f"flushed {count} job(s)")
    return 0


def add_failure_commands(command: Any) -> None:
    """Register the dead-letter commands through the main parser's ``command`` helper."""
    failed = command("failed", cmd_failed, "list dead-lettered jobs")
    failed.add_argument("--queue")
    failed.add_argument("--job")
    failed.add_argument("--limit", type=int)
    retry = command("retry", cmd_retry, "retry a dead-lettered job, or --all")
    retry.add_argument("id", nargs="?")
    retry.add_argument("--all", action="store_true")
    retry.add_argument("--queue", help="with --all: only this queue")
    command("forget", cmd_forget, "drop a dead-lettered job").add_argument("id")
    command("flush", cmd_flush, "drop every dead-lettered job").add_argument("--queue")
