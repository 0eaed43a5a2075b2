"""``jobmodule batches`` and ``jobmodule batch show|watch|cancel|retry-failed ID``."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from jobmodule.activities import JobBatch
from jobmodule.batches import BatchHandle
from jobmodule.batches.start import NAME_MEMO
from jobmodule.cli.output import Command, console, print_json
from jobmodule.connection import connect
from jobmodule.workflows import BATCH_ID


def render(batch: JobBatch) -> Table:
    """A batch as a two-column table."""
    table = Table(show_header=False, title=f"Batch {batch.name or batch.id}")
    rows = {
        "id": batch.id,
        "progress": f"{batch.progress}%",
        "total / pending": f"{batch.total_jobs} / {batch.pending_jobs}",
        "processed / failed": f"{batch.processed_jobs} / {batch.failed_jobs}",
        "finished": f"{batch.finished} {batch.finished_at or ''}",
        "cancelled": str(batch.cancelled),
        "failed job ids": ", ".join(batch.failed_job_ids[:10])
        + (" ..." if len(batch.failed_job_ids) > 10 else ""),
    }
    for key, value in rows.items():
        table.add_row(key, value)
    return table


def emit(batch: JobBatch, as_json: bool) -> None:
    """Print a batch as JSON or as a table."""
    if as_json:
        print_json(batch.model_dump(mode="json") | {"progress": batch.progress})
    else:
        console.print(render(batch))


async def handle_of(args: argparse.Namespace) -> BatchHandle:
    return BatchHandle(id=args.id, client=await connect())


async def cmd_batches(args: argparse.Namespace) -> int:
    """``jobmodule batches``: recent batches from visibility."""
    client = await connect()
    table = Table(title="Batches")
    for column in ("ID", "Name", "Status", "Started"):
        table.add_column(column, overflow="fold")
    rows: list[dict[str, Any]] = []
    query = 'WorkflowType = "BatchWorkflow"'
    async for execution in client.list_workflows(query, limit=args.limit):
        memo = await execution.memo()
        rows.append(
            {
                "id": execution.typed_search_attributes.get(BATCH_ID) or execution.id,
                "name": memo.get(NAME_MEMO) or "",
                "status": execution.status.name.lower() if execution.status else "unknown",
                "started": execution.start_time,
            }
        )
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        table.add_row(row["id"], str(row["name"]), row["status"], str(row["started"]))
    console.print(table if rows else "No batches.")
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    """``jobmodule batch show ID``."""
    emit(await (await handle_of(args)).status(), args.json)
    return 0


async def cmd_watch(args: argparse.Namespace) -> int:
    """``jobmodule batch watch ID``: a live progress bar until the batch finished."""
    final = await (await handle_of(args)).wait(progress=not args.json)
    emit(final, args.json)
    return 0 if not final.has_failures else 1


async def cmd_cancel(args: argparse.Namespace) -> int:
    """``jobmodule batch cancel ID``."""
    emit(await (await handle_of(args)).cancel(), args.json)
    return 0


async def cmd_retry_failed(args: argparse.Namespace) -> int:
    """``jobmodule batch retry-failed ID``."""
    emit(await (await handle_of(args)).retry_failed(), args.json)
    return 0


def add_batch_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``batches`` and ``batch`` on the ``jobmodule`` parser."""
    batches = subparsers.add_parser("batches", help="list recent batches")
    batches.set_defaults(handler=cmd_batches)
    batches.add_argument("--limit", type=int, default=50)
    batches.add_argument("--json", action="store_true", help="print JSON")
    batch = subparsers.add_parser("batch", help="show, watch, cancel or retry a batch")
    sub = batch.add_subparsers(dest="batch_command", required=True, metavar="COMMAND")
    commands: dict[str, tuple[Command, str]] = {
        "show": (cmd_show, "show a batch's counters"),
        "watch": (cmd_watch, "draw a live progress bar until the batch finished"),
        "cancel": (cmd_cancel, "cancel a batch: jobs not yet started never start"),
        "retry-failed": (cmd_retry_failed, "run the failed jobs of a finished batch again"),
    }
    for name, (handler, help) in commands.items():
        parser = sub.add_parser(name, help=help, description=help)
        parser.set_defaults(handler=handler)
        parser.add_argument("id", help="batch id")
        parser.add_argument("--json", action="store_true", help="print JSON")
