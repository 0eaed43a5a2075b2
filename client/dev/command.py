"""``jobmodule dev``: the embedded Temporal dev server, a worker and, optionally, a demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import subprocess

from temporalio.client import Client

from jobmodule.activities import JobModuleError
from jobmodule.connection import connect
from jobmodule.dashboard import serve as serve_dashboard
from jobmodule.dev.server import log_path, port_in_use, start_dev_server
from jobmodule.settings import JobSettings
from jobmodule.worker.options import limits_from_args, settings_from_args, split_list
from jobmodule.worker.runner import run_worker

DEMO_MODULE = "examples.demo"
"""What ``--demo`` runs: the checkout's demo (``make run``). ``--run MODULE`` runs another."""


async def run_dev(args: argparse.Namespace) -> int:
    """Start (or reuse) the dev server, run a worker until Ctrl-C, then stop what we started."""
    settings = settings_from_args(args)
    server: subprocess.Popen[bytes] | None = None
    if port_in_use(settings.dev_ip, settings.dev_port):
        print(f"Temporal already listening on {settings.dev_ip}:{settings.dev_port}; reusing it")
    else:
        server = await asyncio.to_thread(start_dev_server, settings, headless=args.headless)
        print(f"Temporal dev server on {settings.dev_ip}:{settings.dev_port}")
        print(f"  data: {settings.state_dir / 'temporal.db'} (survives restarts)")
        print(f"  log:  {log_path(settings)}")
    if not args.headless:
        print(f"  Web UI: http://{settings.dev_ip}:{settings.dev_ui_port}")
    dashboard: asyncio.Task[None] | None = None
    try:
        client = await connect(target_host=f"{settings.dev_ip}:{settings.dev_port}")
        if not args.no_dashboard:
            dashboard = start_dashboard(settings, client)
        worker = asyncio.create_task(
            run_worker(
                queues=split_list(args.queue),
                job_modules=split_list(args.jobs),
                client=client,
                settings=settings,
                limits=limits_from_args(args),
            )
        )
        program = args.run or (DEMO_MODULE if args.demo else None)
        if program:
            demo = asyncio.create_task(run_program(program, client))
            demo.add_done_callback(_program_finished)
        await worker
    finally:
        if dashboard is not None:
            dashboard.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await dashboard
        if server is not None:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(server.wait, 10)
            if server.poll() is None:
                server.kill()
    return 0


def start_dashboard(settings: JobSettings, client: Client) -> asyncio.Task[None] | None:
    """Serve the dashboard beside the worker, on loopback; a busy port skips it, with a note."""
    host, port = "127.0.0.1", settings.dashboard_port
    if port_in_use(host, port):
        print(f"  Dashboard: port {port} is busy, not started (JOBS_DASHBOARD_PORT to move it)")
        return None
    print(f"  Dashboard: http://{host}:{port}", flush=True)
    return asyncio.create_task(
        serve_dashboard(settings, host=host, port=port, client=client, own_signals=False)
    )


def _program_finished(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        print(f"error: {task.exception()}", flush=True)
    print("Serving until Ctrl-C.", flush=True)


async def run_program(module: str, client: Client) -> None:
    """``await module.main(client)``: a demo or smoke script, beside the worker."""
    try:
        main = importlib.import_module(module).main
    except (ImportError, AttributeError) as error:
        raise JobModuleError(
            f"--run {module}: no importable async main(client) ({error}); --demo runs the "
            "checkout's examples/demo.py, so start it from the repository root"
        ) from None
    await main(client)
