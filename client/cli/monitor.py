"""``jobmodule monitor`` (a live view, like Horizon's dashboard or htop) and ``jobmodule workers``.

The live view redraws every 2 s in place: a table of queues, a table of workers, and the
totals. ``--once`` draws it once; ``--json`` prints ``{"queues": [...], "workers": [...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from jobmodule.cli.output import console, print_json
from jobmodule.connection import connect
from jobmodule.durations import parse_duration
from jobmodule.monitoring import JobMonitor, MonitorSnapshot, QueueStats, WorkerInfo

REFRESH_SECONDS = 2.0
STATUS_STYLE = {"up": "green", "stopped": "dim", "lost": "bold red"}


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}s"
    if value >= 1:
        return f"{value:.1f}s"
    return f"{value * 1000:.0f}ms"


def _pair(average: float | None, p95: float | None) -> str:
    return f"{_seconds(average)} / {_seconds(p95)}"


def _window(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds >= 60 else f"{seconds:g}s"


def queues_table(rows: list[QueueStats]) -> Table:
    """One row per queue: now, then the window."""
    window = _window(rows[0].window_s) if rows else ""
    table = Table(title=f"Queues (window {window})" if rows else "Queues", title_justify="left")
    table.add_column("Queue", overflow="fold", min_width=8)
    for name in ("Pending", "Delayed", "Running", "Failed", "Workers", "Oldest"):
        table.add_column(name, justify="right", no_wrap=True)
    for name in ("Jobs/min", "Done", "Failures", "Runtime avg/p95", "Wait avg/p95"):
        table.add_column(name, justify="right", no_wrap=True, style="cyan")
    for row in rows:
        table.add_row(
            row.queue,
            str(row.pending),
            str(row.delayed),
            str(row.running),
            Text(str(row.failed), style="red" if row.failed else ""),
            str(row.workers),
            _seconds(row.oldest_pending_s),
            f"{row.throughput_per_minute:g}",
            str(row.processed),
            str(row.failed_in_window),
            _pair(row.avg_runtime_s, row.p95_runtime_s),
            _pair(row.avg_wait_s, row.p95_wait_s),
        )
    return table


def workers_table(rows: list[WorkerInfo], now: datetime | None = None) -> Table:
    """One row per worker process."""
    table = Table(title="Workers", title_justify="left")
    table.add_column("Worker", overflow="fold", min_width=8)
    table.add_column("PID", justify="right", no_wrap=True)
    table.add_column("Queues", overflow="fold", min_width=8)
    table.add_column("Status", no_wrap=True)
    for name in ("Running", "Done", "Failed", "RSS", "CPU", "Last seen"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        seen = f"{(now - row.last_seen).total_seconds():.0f}s ago" if now else str(row.last_seen)
        table.add_row(
            row.identity,
            str(row.pid),
            ", ".join(row.queues),
            Text(row.status, style=STATUS_STYLE[row.status]),
            f"{row.running}/{row.slots}",
            str(row.jobs_processed),
            str(row.jobs_failed),
            f"{row.rss_mb:.0f} MB",
            f"{row.cpu_percent:.0f}%",
            seen,
        )
    return table


def totals(snapshot: MonitorSnapshot) -> Text:
    """The line under the tables: everything added up."""
    queues = snapshot.queues
    up = sum(1 for worker in snapshot.workers if worker.status == "up")
    lost = sum(1 for worker in snapshot.workers if worker.status == "lost")
    text = Text(f"Totals at {snapshot.taken_at:%H:%M:%S}: ", style="bold")
    text.append(
        f"{sum(q.pending for q in queues)} pending, {sum(q.delayed for q in queues)} delayed, "
        f"{sum(q.running for q in queues)} running, {sum(q.failed for q in queues)} failed; "
        f"{sum(q.processed for q in queues)} processed "
        f"({sum(q.throughput_per_minute for q in queues):g}/min); {up} workers up"
    )
    if lost:
        text.append(f", {lost} lost", style="bold red")
    return text


def render(snapshot: MonitorSnapshot) -> Group:
    """The whole view."""
    return Group(
        queues_table(snapshot.queues),
        workers_table(snapshot.workers, snapshot.taken_at),
        totals(snapshot),
    )


def as_json(snapshot: MonitorSnapshot) -> dict[str, Any]:
    """``{"queues": [QueueStats...], "workers": [WorkerInfo...]}``."""
    return {
        "queues": [row.model_dump(mode="json") for row in snapshot.queues],
        "workers": [row.model_dump(mode="json") for row in snapshot.workers],
    }


async def cmd_monitor(args: argparse.Namespace) -> int:
    """``jobmodule monitor``: the live view until Ctrl-C, or once."""
    monitor = JobMonitor().using(await connect())
    window = parse_duration(args.window)

    async def read() -> MonitorSnapshot:
        return await monitor.snapshot(queue=args.queue, window=window)

    if args.json:
        print_json(as_json(await read()))
        return 0
    if args.once:
        console.print(render(await read()))
        return 0
    with Live(render(await read()), console=console, auto_refresh=False) as live:
        while True:
            await asyncio.sleep(args.interval)
            live.update(render(await read()), refresh=True)


async def cmd_workers(args: argparse.Namespace) -> int:
    """``jobmodule workers``: the workers up, and those stopped or lost in the last hour."""
    rows = await JobMonitor().using(await connect()).workers(queue=args.queue)
    if args.json:
        print_json([row.model_dump(mode="json") for row in rows])
        return 0
    if not rows:
        console.print("No workers have reported (is one running, with JOBS_MONITORING on?).")
        return 0
    console.print(workers_table(rows, datetime.now(rows[0].last_seen.tzinfo)))
    return 0


def add_monitor_commands(command: Any) -> None:
    """Register ``monitor`` and ``workers`` through the main parser's ``command`` helper."""
    monitor = command("monitor", cmd_monitor, "a live view of queues and workers")
    monitor.add_argument("--once", action="store_true", help="draw once and exit")
    monitor.add_argument("--queue", help="only this queue")
    monitor.add_argument("--window", default="15m", help="window of the figures (default 15m)")
    monitor.add_argument(
        "--interval", type=float, default=REFRESH_SECONDS, help="seconds between refreshes"
    )
    workers = command("workers", cmd_workers, "list the workers and their health")
    workers.add_argument("--queue", help="only workers polling this queue")
