"""``jobmodule dashboard [--host 127.0.0.1] [--port 8234]``: serve the web dashboard."""

from __future__ import annotations

import argparse
from typing import Any

from jobmodule.connection import connect
from jobmodule.dashboard import check_bind, serve
from jobmodule.settings import JobSettings


def dashboard_url(host: str, port: int) -> str:
    """The address to print: what a browser on this machine opens."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the bind before anything else, connect, then serve until Ctrl-C."""
    settings = JobSettings()
    host = args.host or settings.dashboard_host
    port = settings.dashboard_port if args.port is None else args.port
    token = settings.dashboard_token.get_secret_value() if settings.dashboard_token else None
    check_bind(host, token)
    client = await connect()
    print(f"Dashboard: {dashboard_url(host, port)}", flush=True)
    await serve(settings, host=host, port=port, client=client)
    return 0


def add_dashboard_commands(command: Any) -> None:
    """Register ``dashboard`` through the main parser's ``command`` helper."""
    parser = command("dashboard", cmd_dashboard, "serve the web dashboard")
    parser.add_argument(
        "--host", default=None, help="interface to bind (default 127.0.0.1; others need "
        "JOBS_DASHBOARD_TOKEN)"
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=None, help="port (default 8234)")
