"""Entry point of a worker process: ``python worker.py`` and ``python -m jobmodule.worker``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from jobmodule.activities import JobModuleError
from jobmodule.worker.logs import configure_logging
from jobmodule.worker.options import (
    child_arguments,
    limits_from_args,
    parse_args,
    settings_from_args,
    split_list,
)
from jobmodule.worker.runner import run_worker
from jobmodule.worker.supervisor import supervise


def main(argv: Sequence[str] | None = None) -> int:
    """Run a worker (or ``--processes N`` of them) until SIGTERM/SIGINT; return the exit code."""
    configure_logging()
    sys.path.insert(0, ".")  # job modules of the project in the current directory
    args = parse_args(argv)
    try:
        settings = settings_from_args(args)
        if args.processes > 1:
            return supervise(
                lambda slot: child_arguments(args, slot),
                args.processes,
                grace=settings.graceful_shutdown_seconds,
            )
        return asyncio.run(
            run_worker(
                queues=split_list(args.queue),
                job_modules=split_list(args.jobs),
                settings=settings,
                limits=limits_from_args(args),
            )
        )
    except (JobModuleError, ValidationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
