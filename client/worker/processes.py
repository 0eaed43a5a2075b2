"""``--processes N``: worker processes side by side, with signals passed on to each."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from jobmodule.worker.options import settings_from_args


def run_processes(args: argparse.Namespace) -> int:
    """Run ``--processes N`` single-process workers side by side and pass signals on to them.

    Sync ``handle()`` methods share one interpreter lock per process; CPU-bound jobs (parsing,
    imports) need more processes, as Celery's prefork pool has.
    """
    command = [sys.executable, "-m", "jobmodule.worker", "--jobs", args.jobs, "--queue", args.queue]
    if args.concurrency:
        command += ["--concurrency", str(args.concurrency)]
    port = settings_from_args(args).metrics_port
    children = [
        subprocess.Popen(command + ([] if port is None else ["--metrics-port", str(port + n)]))
        for n in range(args.processes)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)
