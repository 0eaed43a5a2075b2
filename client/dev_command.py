"""``jobs dev``: the embedded Temporal dev server, a worker and, optionally, the demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess

from client.connection import connect
from client.dev_server import port_in_use, start_dev_server


async def run_dev(args: argparse.Namespace) -> int:
    """Start (or reuse) the dev server, run a worker until Ctrl-C, then stop what we started."""
    from worker import run_worker, settings_from_args, split_list

    settings = settings_from_args(args)
    server: subprocess.Popen[bytes] | None = None
    if port_in_use(settings.dev_ip, settings.dev_port):
        print(f"Temporal already listening on {settings.dev_ip}:{settings.dev_port}; reusing it")
    else:
        server = await asyncio.to_thread(start_dev_server, settings, headless=args.headless)
        print(f"Temporal dev server on {settings.dev_ip}:{settings.dev_port}")
        print(f"  data: {settings.state_dir / 'temporal.db'} (survives restarts)")
    if not args.headless:
        print(f"  Web UI: http://{settings.dev_ip}:{settings.dev_ui_port}")
    try:
        client = await connect(target_host=f"{settings.dev_ip}:{settings.dev_port}")
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(
                queues=split_list(args.queue),
                job_modules=split_list(args.jobs),
                client=client,
                settings=settings,
                stop=stop,
            )
        )
        if args.demo:
            from examples.demo import main as demo

            demo_task = asyncio.create_task(demo(client))
            demo_task.add_done_callback(lambda _: print("Serving until Ctrl-C.", flush=True))
        await worker
    finally:
        if server is not None:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(server.wait, 10)
            if server.poll() is None:
                server.kill()
    return 0
