"""``jobmodule failed | retry | forget | flush``: the dead-letter queue (Laravel's queue:failed)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from rich.table import Table

from jobmodule.activities import JobModuleError
from jobmodule.cli.output import console, print_json
from jobmodule.connection import connect
from jobmodule.failures import FailureHandler


async def _handler() -> FailureHandler:
    return FailureHandler().using(await connect())


async def cmd_failed(args: argparse.Namespace) -> int:
    """``jobmodule failed``: the dead-letter queue (Laravel ``queue:failed``); ``--group``: its
    root-cause groups; ``failed prune --hours N``: Laravel's ``queue:prune-failed``."""
    if args.action == "prune":
        count = await (await _handler()).prune(
            older_than=timedelta(hours=args.hours), queue=args.queue
        )
        console.print(f"pruned {count} job(s) that failed over {args.hours:g}h ago")
        return 0
    if args.group:
        return await _groups(args)
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


async def _groups(args: argparse.Namespace) -> int:
    groups = await (await _handler()).groups(queue=args.queue, job=args.job)
    if args.json:
        print_json([group.model_dump(mode="json") for group in groups])
        return 0
    if not groups:
        console.print("No failed jobs.")
        return 0
    table = Table(title=f"Failure groups ({len(groups)})")
    for column in ("Group", "Count", "Job", "Exception", "Pattern", "Frame", "Last failed"):
        table.add_column(column, overflow="fold")
    for group in groups:
        table.add_row(
            group.id,
            str(group.count),
            group.job,
            group.exception_type,
            group.pattern[:80],
            group.frame or "-",
            group.last_failed_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)
    console.print("Retry a group: jobmodule retry --group GROUP")
    return 0


async def cmd_retry(args: argparse.Namespace) -> int:
    """``jobmodule retry ID``, ``--group ID``, or ``--all [--queue Q] [--job NAME]``."""
    handler = await _handler()
    if args.group:
        count = await handler.retry_group(args.group)
        console.print(f"retried {count} job(s) of group {args.group}")
        return 0
    if args.all:
        count = await handler.retry_all(queue=args.queue, job=args.job)
        console.print(f"retried {count} job(s)")
        return 0
    if not args.id:
        raise JobModuleError("give a job id, --group ID or --all (see `jobmodule failed`)")
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
    failed = command("failed", cmd_failed, "list dead-lettered jobs, their groups, or prune them")
    failed.add_argument("action", nargs="?", choices=["prune"], help="prune: forget old ones")
    failed.add_argument("--queue")
    failed.add_argument("--job")
    failed.add_argument("--limit", type=int)
    failed.add_argument("--group", action="store_true", help="show root-cause groups")
    failed.add_argument(
        "--hours", type=float, default=48.0, help="with prune: failed over this long ago"
    )
    retry = command("retry", cmd_retry, "retry a dead-lettered job, a --group, or --all")
    retry.add_argument("id", nargs="?")
    retry.add_argument("--all", action="store_true")
    retry.add_argument("--group", help="retry every job of this root-cause group")
    retry.add_argument("--queue", help="with --all: only this queue")
    retry.add_argument("--job", help="with --all: only this job class")
    command("forget", cmd_forget, "drop a dead-lettered job").add_argument("id")
    command("flush", cmd_flush, "drop every dead-lettered job").add_argument("--queue")
