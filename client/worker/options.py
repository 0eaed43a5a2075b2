"""The worker's command line, shared by ``python worker.py`` and ``jobmodule work``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from jobmodule.settings import JobSettings
from jobmodule.worker.life import RecycleLimits


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line of ``worker.py`` and ``jobmodule work``."""
    parser = argparse.ArgumentParser(description="Run jobmodule workers.")
    add_worker_arguments(parser)
    return parser.parse_args(argv)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker's options, shared with ``jobmodule work``."""
    parser.add_argument(
        "--jobs",
        default="app.jobs",
        help="comma-separated modules that define jobs (default: app.jobs)",
    )
    parser.add_argument(
        "--queue", default="default", help="comma-separated queues to poll (default: default)"
    )
    parser.add_argument("--concurrency", type=int, help="jobs run at once per queue")
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on 127.0.0.1:PORT/metrics (JOBS_METRICS_PORT); with "
        "--processes N, the processes take PORT, PORT+1, ...",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes under a supervisor that restarts and recycles them (default 1)",
    )
    parser.add_argument(
        "--max-jobs", type=_positive_int, help="recycle a process after it ran this many jobs"
    )
    parser.add_argument(
        "--max-time", type=_positive_float, help="recycle a process after this many seconds"
    )
    parser.add_argument(
        "--max-memory", type=_positive_float, help="recycle a process once it uses this many MB"
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value:g}")
    return value


def limits_from_args(args: argparse.Namespace) -> RecycleLimits:
    """The recycle limits the command line asked for."""
    return RecycleLimits(
        max_jobs=args.max_jobs, max_time=args.max_time, max_memory_mb=args.max_memory
    )


def child_arguments(args: argparse.Namespace, slot: int = 0) -> list[str]:
    """The command-line options the ``slot``-th supervised child gets: all but
    ``--processes``, and a metrics port of its own (PORT, PORT+1, ...)."""
    options = ["--jobs", args.jobs, "--queue", args.queue]
    port = settings_from_args(args).metrics_port
    if port is not None:
        options += ["--metrics-port", str(port + slot)]
    for flag, value in (
        ("--concurrency", args.concurrency),
        ("--max-jobs", args.max_jobs),
        ("--max-time", args.max_time),
        ("--max-memory", args.max_memory),
    ):
        if value:
            options += [flag, str(value)]
    return options


def settings_from_args(args: argparse.Namespace) -> JobSettings:
    """JobSettings from the environment, with command-line overrides."""
    overrides: dict[str, object] = {}
    if args.concurrency:
        overrides["max_concurrent_activities"] = args.concurrency
    if getattr(args, "metrics_port", None):
        overrides["metrics_port"] = args.metrics_port
    # Validated again with the overrides: a port and an OTLP endpoint together are refused.
    return JobSettings.model_validate({**JobSettings().model_dump(), **overrides})


def split_list(value: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``."""
    return [item.strip() for item in value.split(",") if item.strip()]
