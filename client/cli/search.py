"""``jobmodule jobs``, ``jobmodule job ID`` and ``jobmodule cancel ID``: the job search."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from jobmodule.cli.output import console, print_json
from jobmodule.connection import connect
from jobmodule.jobs import JobInfo, JobService
from jobmodule.workflows.states import JobState


async def _service() -> JobService:
    return JobService().using(await connect())


def _when(row: JobInfo) -> str:
    return row.dispatched_at.strftime("%Y-%m-%d %H:%M:%S") if row.dispatched_at else ""


async def cmd_jobs(args: argparse.Namespace) -> int:
    """``jobmodule jobs``: one page of jobs, newest first (a batch's in order)."""
    page = await (await _service()).list(
        status=args.status,
        queue=args.queue,
        job=args.job,
        batch_id=args.batch,
        limit=args.limit,
        page_token=args.page,
    )
    if args.json:
        print_json(page.model_dump(mode="json"))
        return 0
    if not page.jobs:
        console.print("No jobs match.")
        return 0
    table = Table(title=f"Jobs ({len(page.jobs)})")
    for column in ("ID", "Job", "Queue", "Status", "Attempts", "Dispatched", "Batch"):
        table.add_column(column, overflow="fold")
    for row in page.jobs:
        table.add_row(
            row.id,
            row.job,
            row.queue,
            row.status.value,
            str(row.attempts),
            _when(row),
            row.batch_id or "",
        )
    console.print(table)
    if page.next_page_token:
        console.print(f"More: --page {page.next_page_token}")
    return 0


async def cmd_job(args: argparse.Namespace) -> int:
    """``jobmodule job ID``: one job with its payload, attempts and last error."""
    info = await (await _service()).find(args.id)
    if args.json:
        print_json(info.model_dump(mode="json"))
        return 0
    console.print(f"[bold]{info.id}[/]: {info.status.value}")
    fields: list[tuple[str, Any]] = [
        ("job", info.job),
        ("queue", info.queue),
        ("attempts", info.attempts),
        ("dispatched", _when(info)),
        ("batch", info.batch_id),
        ("workflow", info.workflow_id),
        ("payload", json.dumps(info.payload, default=str) if info.payload is not None else None),
    ]
    for name, value in fields:
        if value not in (None, ""):
            console.print(f"  {name:<11}{value}", markup=False, highlight=False)
    if info.failure:
        console.print(f"  last error {info.failure.type}: {info.failure.message}", markup=False)
        if info.failure.frame:
            console.print(f"  at         {info.failure.frame}", markup=False)
        if info.failure.traceback:
            console.print(info.failure.traceback, markup=False, highlight=False)
    return 0


async def cmd_cancel(args: argparse.Namespace) -> int:
    """``jobmodule cancel ID``: cancel a job that has not settled."""
    info = await (await _service()).cancel(args.id)
    if args.json:
        print_json({"id": info.id, "status": info.status.value})
    else:
        console.print(f"{info.id}: cancel requested")
    return 0


def add_search_commands(command: Any) -> None:
    """Register ``jobs``, ``job`` and ``cancel`` through the main parser's ``command`` helper."""
    jobs = command("jobs", cmd_jobs, "search jobs by status, queue, job class or batch")
    jobs.add_argument("--status", choices=[state.value for state in JobState])
    jobs.add_argument("--queue")
    jobs.add_argument("--job", help="job name, e.g. app.jobs.ProcessUserData")
    jobs.add_argument("--batch", help="every job of this batch, in order")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--page", help="the token a previous page printed")
    command("job", cmd_job, "show a job: payload, attempts, last error").add_argument("id")
    command("cancel", cmd_cancel, "cancel a job that has not settled").add_argument("id")
