"""``jobmodule dispatch`` and ``jobmodule status``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from jobmodule.activities import registry
from jobmodule.cli.output import console, json_object, print_json
from jobmodule.connection import connect
from jobmodule.durations import parse_duration
from jobmodule.jobs import PendingDispatch, job_handle


async def cmd_dispatch(args: argparse.Namespace) -> int:
    """``jobmodule dispatch NAME --payload JSON``: validate locally, then start the job."""
    job_class = registry.resolve_or_import(args.job)
    pending = PendingDispatch(job_class.model_validate(json_object(args.payload)))
    if args.queue:
        pending.on_queue(args.queue)
    if args.delay:
        pending.delay(parse_duration(args.delay))
    handle = await pending.using(await connect())
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
    """``jobmodule status ID``."""
    state = await job_handle(args.id, await connect()).status()
    if args.json:
        print_json({"id": args.id, "status": state.value})
    else:
        console.print(f"{args.id}: [bold]{state.value}[/]")
    return 0


def add_job_commands(command: Any) -> None:
    """Register ``dispatch`` and ``status`` through the main parser's ``command`` helper."""
    dispatch = command("dispatch", cmd_dispatch, "dispatch a job by name")
    dispatch.add_argument("job", help="job name, e.g. app.jobs.ProcessUserData")
    dispatch.add_argument("--payload", default="{}", help="JSON object of payload fields")
    dispatch.add_argument("--queue", help="override the job's queue")
    dispatch.add_argument("--delay", help="start no earlier than this, e.g. 10s, 5m")
    dispatch.add_argument("--wait", action="store_true", help="wait for the outcome")
    command("status", cmd_status, "show a job's status").add_argument("id")
