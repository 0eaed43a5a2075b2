"""The ``jobmodule`` command (alias ``jm``): the dev server and workers, dispatching jobs, the
dead-letter queue, batches, schedules and monitoring.

Every command prints a readable table, or JSON with ``--json``. Errors print one line that names
the problem and the fix, and exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from temporalio.service import RPCError

from jobmodule.activities import JobModuleError
from jobmodule.cli.batches import add_batch_commands
from jobmodule.cli.dashboard import add_dashboard_commands
from jobmodule.cli.failures import add_failure_commands
from jobmodule.cli.jobs import add_job_commands
from jobmodule.cli.monitor import add_monitor_commands
from jobmodule.cli.output import Command, errors
from jobmodule.cli.schedules import add_schedule_commands
from jobmodule.cli.search import add_search_commands
from jobmodule.cli.work import add_work_commands, run_work
from jobmodule.worker.logs import configure_logging

PROGRAM = "jobmodule"


def build_parser() -> argparse.ArgumentParser:
    """The ``jobmodule`` argument parser."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Durable jobs on Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Command, help: str) -> argparse.ArgumentParser:
        sub_parser = sub.add_parser(name, help=help, description=help)
        sub_parser.set_defaults(handler=handler)
        sub_parser.add_argument("--json", action="store_true", help="print JSON")
        return sub_parser

    add_work_commands(command)
    add_job_commands(command)
    add_search_commands(command)
    add_failure_commands(command)
    add_monitor_commands(command)
    add_dashboard_commands(command)
    add_batch_commands(sub)
    add_schedule_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``jobmodule`` command; return its exit code."""
    sys.path.insert(0, ".")  # job modules of the project in the current directory
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["work"]:
        return run_work(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "dev":
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
    """Console-script entry point of ``jobmodule`` and ``jm``."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
