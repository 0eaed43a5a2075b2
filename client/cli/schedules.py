"""``jobmodule schedule ...``: list, add, show, pause, resume, trigger and delete job schedules.

``build_parser()`` in :mod:`jobmodule.cli.main` registers these with :func:`add_schedule_commands`.
Each command prints a readable summary, or JSON with ``--json``; errors (unknown schedule id,
bad cron expression, unknown job) propagate to ``main()``, which prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from rich.table import Table

from jobmodule.cli.output import Command, console, json_object
from jobmodule.cli.output import print_json as _print_json
from jobmodule.connection import connect
from jobmodule.schedules import OVERLAP_POLICIES, JobSchedule, JobScheduler


def _when(time: datetime | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z") if time else "-"


async def _scheduler() -> JobScheduler:
    return JobScheduler().using(await connect())


async def cmd_list(args: argparse.Namespace) -> int:
    """``jobmodule schedule list``."""
    schedules = await (await _scheduler()).list()
    if args.json:
        _print_json([schedule.model_dump(mode="json") for schedule in schedules])
        return 0
    if not schedules:
        console.print("No job schedules.")
        return 0
    table = Table(title=f"Job schedules ({len(schedules)})")
    for column in ("ID", "Job", "Cron", "When", "Next run", "Paused", "Last outcome"):
        table.add_column(column, overflow="fold")
    for schedule in schedules:
        table.add_row(
            schedule.id,
            schedule.job,
            schedule.cron,
            f"{schedule.description} ({schedule.timezone})",
            _when(schedule.next_run_times[0] if schedule.next_run_times else None),
            "yes" if schedule.paused else "no",
            schedule.last_outcome or "-",
        )
    console.print(table)
    return 0


def _show(schedule: JobSchedule, args: argparse.Namespace, headline: str) -> int:
    if args.json:
        _print_json(schedule.model_dump(mode="json"))
        return 0
    console.print(headline)
    console.print(f"  job:       {schedule.job} {json.dumps(schedule.payload)}")
    console.print(f"  cron:      {schedule.cron} ({schedule.description}, {schedule.timezone})")
    if schedule.options:
        console.print(f"  options:   {json.dumps(schedule.options)}")
    console.print(f"  overlap:   {schedule.overlap}")
    paused = "no"
    if schedule.paused:
        paused = f"yes ({schedule.note})" if schedule.note else "yes"
    console.print(f"  paused:    {paused}")
    for time in schedule.next_run_times:
        console.print(f"  next run:  {_when(time)}")
    for run in schedule.recent_runs:
        console.print(f"  ran:       {_when(run.time)}  {run.outcome:<13} {run.job_id}")
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    """``jobmodule schedule show ID``."""
    schedule = await (await _scheduler()).get(args.id)
    return _show(schedule, args, f"[bold]{schedule.id}[/]")


async def cmd_add(args: argparse.Namespace) -> int:
    """``jobmodule schedule add JOB CRON``: validate locally, then create or update the schedule."""
    payload = json_object(args.payload)
    options: dict[str, Any] = {}
    if args.queue:
        options["queue"] = args.queue
    if args.priority:
        options["priority"] = args.priority
    schedule = await (await _scheduler()).schedule(
        args.job,
        args.cron,
        options,
        payload=payload,
        id=args.id,
        timezone=args.tz,
        overlap=args.overlap,
        paused=True if args.paused else None,
        note=args.note,
    )
    return _show(schedule, args, f"scheduled [bold]{schedule.job}[/] as [cyan]{schedule.id}[/]")


async def cmd_pause(args: argparse.Namespace) -> int:
    """``jobmodule schedule pause ID [--note TEXT]``."""
    await (await _scheduler()).pause(args.id, note=args.note)
    return _done(args, "paused")


async def cmd_resume(args: argparse.Namespace) -> int:
    """``jobmodule schedule resume ID``."""
    await (await _scheduler()).resume(args.id, note=args.note)
    return _done(args, "resumed")


async def cmd_trigger(args: argparse.Namespace) -> int:
    """``jobmodule schedule trigger ID``: run now (under the schedule's overlap policy)."""
    await (await _scheduler()).trigger(args.id)
    return _done(args, "triggered")


async def cmd_delete(args: argparse.Namespace) -> int:
    """``jobmodule schedule delete ID``."""
    await (await _scheduler()).delete(args.id)
    return _done(args, "deleted")


def _done(args: argparse.Namespace, action: str) -> int:
    if args.json:
        _print_json({"id": args.id, "action": action})
    else:
        console.print(f"{action} schedule [cyan]{args.id}[/]")
    return 0


def add_schedule_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``schedule`` and its subcommands on the ``jobmodule`` parser's subparsers."""
    text = "manage cron schedules of jobs"
    schedule = subparsers.add_parser("schedule", help=text, description=text)
    sub = schedule.add_subparsers(dest="schedule_command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command, help: str) -> argparse.ArgumentParser:
        sub_parser = sub.add_parser(name, help=help, description=help)
        sub_parser.set_defaults(handler=handler)
        sub_parser.add_argument("--json", action="store_true", help="print JSON")
        return sub_parser

    command("list", cmd_list, "list job schedules")
    add = command("add", cmd_add, "schedule a job by name (updates it if it exists)")
    add.add_argument("job", help="job name, e.g. app.jobs.DailyReport")
    add.add_argument("cron", help="5-field cron expression or macro, e.g. '0 2 * * 1', @daily")
    add.add_argument("--payload", default="{}", help="JSON object of payload fields")
    add.add_argument("--tz", default="UTC", help="IANA time zone of the cron expression")
    add.add_argument("--queue", help="override the job's queue")
    add.add_argument("--priority", help="1 (highest) .. 5, or high, normal (default), low")
    add.add_argument(
        "--overlap", default="skip", choices=list(OVERLAP_POLICIES), help="if a run is still open"
    )
    add.add_argument("--id", help="schedule id (default: derived from job, cron, payload, tz)")
    add.add_argument("--paused", action="store_true", help="create it paused")
    add.add_argument("--note", help="note shown with the schedule")
    command("show", cmd_show, "show a schedule, its next and recent runs").add_argument("id")
    pause = command("pause", cmd_pause, "stop a schedule starting runs")
    pause.add_argument("id")
    pause.add_argument("--note", help="why it is paused")
    resume = command("resume", cmd_resume, "start a paused schedule again")
    resume.add_argument("id")
    resume.add_argument("--note")
    command("trigger", cmd_trigger, "run a schedule's job now").add_argument("id")
    command("delete", cmd_delete, "delete a schedule").add_argument("id")
