"""The worker's command line, shared by ``python worker.py`` and ``jobmodule work``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from jobmodule.settings import JobSettings


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
        help="worker processes, each polling every queue (Horizon's processes; default 1)",
    )


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
