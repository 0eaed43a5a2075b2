"""The ``jobs`` command: run the dev server and workers, dispatch jobs, work the dead-letter queue.

Every command prints a readable table, or JSON with ``--json``. Errors print one line that names
the problem and the fix, and exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.service import RPCError

from activities import JobModuleError
from activities.registry import resolve_or_import
from client.connection import connect
from client.dispatch import PendingDispatch
from client.durations import parse_duration
from client.failures import FailureHandler
from client.handle import job_handle

console = Console()
errors = Console(stderr=True)

Command = Callable[[argparse.Namespace], Awaitable[int]]


def print_json(data: Any) -> None:
    """Machine-readable output for ``--json``."""
    print(json.dumps(data, indent=2, default=str))


async def cmd_dispatch(args: argparse.Namespace) -> int:
    """``jobs dispatch NAME --payload JSON``: validate locally, then start the job."""
    job_class = resolve_or_import(args.job)
    try:
        payload = json.loads(args.payload)
    except json.JSONDecodeError as error:
        raise JobModuleError(f"--payload is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise JobModuleError("--payload must be a JSON object, e.g. '{\"user_id\": 7}'")
    pending = PendingDispatch(job_class.model_validate(payload))
    if args.queue:
        pending.on_queue(args.queue)
    if args.delay:
        pending.delay(parse_duration(args.delay))
    pending.using(await connect())
    handle = await pending
    if not args.wait:
        if args.json:
            print_json({"id": handle.id, "job": handle.job})
        else:
            console.print(f"dispatched [bold]{handle.job}[/] as [cyan]{handle.id}[/]")
        return 0
    outcome = await handle.outcome()
    if args.json:
        print_json({"id": handle.id, **outcome.model_dump(mode="json")})
    else:
        console.print(f"{handle.id}: [bold]{outcome.state.value}[/]")
        if outcome.failure:
            console.print(f"  {outcome.failure.type}: {outcome.failure.message}")
        elif outcome.result is not None:
            console.print(f"  result: {json.dumps(outcome.result, default=str)}")
    return 0 if outcome.state == "succeeded" else 1


async def cmd_status(args: argparse.Namespace) -> int:
    """``jobs status ID``."""
    state = await job_handle(args.id, await connect()).status()
    if args.json:
        print_json({"id": args.id, "status": str(state)})
    else:
        console.print(f"{args.id}: [bold]{state}[/]")
    return 0


async def cmd_failed(args: argparse.Namespace) -> int:
    """``jobs failed``: the dead-letter queue (Laravel ``queue:failed``)."""
    handler = FailureHandler(await connect())
    rows = await handler.list(queue=args.queue, job=args.job, limit=args.limit)
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
    """``jobs retry ID`` or ``jobs retry --all``."""
    handler = FailureHandler(await connect())
    if args.all:
        count = await handler.retry_all(queue=args.queue)
        console.print(f"retried {count} job(s)")
        return 0
    if not args.id:
        raise JobModuleError("give a job id, or --all (see `jobs failed`)")
    await handler.retry(args.id)
    console.print(f"retrying {args.id}")
    return 0


async def cmd_forget(args: argparse.Namespace) -> int:
    """``jobs forget ID``."""
    await FailureHandler(await connect()).forget(args.id)
    console.print(f"forgot {args.id}")
    return 0


async def cmd_flush(args: argparse.Namespace) -> int:
    """``jobs flush``: forget every dead-lettered job."""
    count = await FailureHandler(await connect()).flush(queue=args.queue)
    console.print(f"flushed {count} job(s)")
    return 0


async def cmd_work(args: argparse.Namespace) -> int:
    """``jobs work``: the same as ``python worker.py``."""
    from worker import run_processes, run_worker, settings_from_args, split_list

    if args.processes > 1:
        return run_processes(args)
    await run_worker(
        queues=split_list(args.queue),
        job_modules=split_list(args.jobs),
        settings=settings_from_args(args),
    )
    return 0


async def cmd_dev(args: argparse.Namespace) -> int:
    """``jobs dev``: the embedded server plus a worker (and, with --demo, the examples)."""
    from client.dev_command import run_dev

    return await run_dev(args)


def build_parser() -> argparse.ArgumentParser:
    """The ``jobs`` argument parser."""
    from client.cli_batch import add_batch_commands
    from client.cli_schedule import add_schedule_commands
    from worker import add_worker_arguments

    parser = argparse.ArgumentParser(prog="jobs", description="Durable jobs on Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Command, help: str) -> argparse.ArgumentParser:
        sub_parser = sub.add_parser(name, help=help, description=help)
        sub_parser.set_defaults(handler=handler)
        sub_parser.add_argument("--json", action="store_true", help="print JSON")
        return sub_parser

    dev = command("dev", cmd_dev, "start the embedded Temporal dev server and a worker")
    add_worker_arguments(dev)
    dev.add_argument("--demo", action="store_true", help="dispatch the example jobs")
    dev.add_argument("--headless", action="store_true", help="no Web UI")
    add_worker_arguments(command("work", cmd_work, "run a worker (same as worker.py)"))

    dispatch = command("dispatch", cmd_dispatch, "dispatch a job by name")
    dispatch.add_argument("job", help="job name, e.g. app.jobs.ProcessUserData")
    dispatch.add_argument("--payload", default="{}", help="JSON object of payload fields")
    dispatch.add_argument("--queue", help="override the job's queue")
    dispatch.add_argument("--delay", help="start no earlier than this, e.g. 10s, 5m")
    dispatch.add_argument("--wait", action="store_true", help="wait for the outcome")

    command("status", cmd_status, "show a job's status").add_argument("id")
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
    add_batch_commands(sub)
    add_schedule_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jobs`` command."""
    from worker import configure_logging

    sys.path.insert(0, ".")  # job modules of the project in the current directory
    args = build_parser().parse_args(argv)
    if args.command in ("dev", "work"):
        configure_logging()
    try:
        return asyncio.run(args.handler(args))
    except (JobModuleError, ValidationError, ValueError) as error:
        errors.print(f"[red]error:[/] {error}")
        return 2
    except RPCError as error:
        errors.print(f"[red]error:[/] the Temporal server refused the request: {error.message}")
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    """Console-script entry point: run, flush, and leave without interpreter teardown.

    The Temporal SDK's native runtime threads can abort a finishing interpreter (seen as exit
    134/139 after a successful command); the command's work is done, so skip the teardown.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
