"""``python -m tests.dashboard.screenshots`` (``make screenshots``): one PNG per dashboard page.

Starts its own dev server (in memory), a worker process and the dashboard, seeds jobs that
succeed, retry and fail, batches (one still running), schedules, then photographs each page
into ``tests/dashboard/screenshots/`` for the README.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from playwright.async_api import Page, async_playwright
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from app import jobs as app_jobs
from jobmodule import Bus, FailureHandler, JobMonitor, JobScheduler, set_default_client
from jobmodule.dev.server import dynamic_config_args, temporal_binary
from tests import sample_jobs
from tests.conftest import wait_until
from tests.dashboard.browser import launch
from tests.dashboard.server import REPO, running_dashboard

OUT = Path(__file__).parent / "screenshots"
QUEUES = "default,emails,imports"


@contextlib.contextmanager
def worker_process(address: str, queues: str = QUEUES) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "JOBS_MONITOR_REPORT_SECONDS": "1"}
    process = subprocess.Popen(
        [sys.executable, "worker.py", "--jobs", "app.jobs,tests.sample_jobs", "--queue", queues],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("worker ready"):
            break
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def seed(client: Client) -> dict[str, str]:
    """Jobs, failures, batches and schedules worth looking at; returns ids to open."""
    done = [await app_jobs.ProcessUserData.dispatch(user_id=i) for i in range(40)]
    for i in range(6):
        await app_jobs.SyncInvoiceEmail.dispatch(invoice_id=1000 + i).on_queue("emails")
    declined = [
        await app_jobs.ChargeCard.dispatch(order_id=5000 + i, amount_cents=1999) for i in range(4)
    ]
    await sample_jobs.FailsIf.dispatch(token="shot", i=7, bad=[7]).on_queue("imports")
    finished = await (
        Bus.batch([app_jobs.ProcessUserData(user_id=i) for i in range(120)])
        .name("nightly users sync")
        .dispatch()
    )
    with_failures = await (
        Bus.batch([sample_jobs.FailsIf(token="b", i=i, bad=[3, 11]) for i in range(40)])
        .name("catalog import")
        .allow_failures()
        .on_queue("imports")
        .dispatch()
    )
    running = await (
        Bus.batch(  # jobs of 1 to 28 s: the batch's progress grows for half a minute
            [sample_jobs.Sleeps(seconds=1 + (i % 100) * 0.27, token=f"s{i}") for i in range(400)]
        )
        .name("thumbnails")
        .on_queue("imports")
        .dispatch()
    )
    scheduler = JobScheduler()
    await scheduler.schedule(
        "app.jobs.ProcessUserData", "0 2 * * *", payload={"user_id": 1}, id="nightly-users"
    )
    await scheduler.schedule(
        "app.jobs.SyncInvoiceEmail", "*/15 9-17 * * 1-5", payload={"invoice_id": 1}, id="invoices"
    )
    await scheduler.schedule(
        "app.jobs.ProcessUserData", "30 6 1 * *", payload={"user_id": 2}, id="monthly-report"
    )
    await scheduler.trigger("nightly-users")
    await scheduler.pause("monthly-report", note="paused until the report is fixed")
    for handle in done:
        await handle.result()
    await finished.wait()
    await with_failures.wait()

    async def parked() -> bool:
        return len(await FailureHandler().list()) >= 7

    async def under_way() -> bool:
        return (await running.status()).processed_jobs >= 120

    async def reported() -> bool:
        return any(row.processed for row in await JobMonitor().get_queue_stats())

    for condition in (parked, under_way, reported):
        await wait_until(condition, timeout=120)
    return {"job": declined[0].id, "batch": running.id}


async def shoot(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(300)  # let uPlot draw
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"wrote {OUT / f'{name}.png'}")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        ip="127.0.0.1",
        dev_server_extra_args=dynamic_config_args(),
    )
    try:
        set_default_client(env.client)
        address = str(env.client.service_client.config.target_host)
        with (
            worker_process(address),
            worker_process(address, "emails") as doomed,
            running_dashboard(address) as dashboard,
        ):
            os.killpg(
                doomed.pid, signal.SIGKILL
            )  # a worker killed -9: the Workers page marks it lost
            ids = await seed(env.client)
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                page = await browser.new_page(viewport={"width": 1400, "height": 860})
                # The running batch first, while it runs: its bar, and Cancel's confirmation.
                await shoot(page, dashboard.url + "/batches", "batches")
                await page.locator(f'tr[data-batch="{ids["batch"]}"] button').first.click()
                await page.screenshot(path=str(OUT / "confirm.png"))
                print(f"wrote {OUT / 'confirm.png'}")
                pages = {
                    "overview": "/",
                    "queues": "/queues",
                    "jobs": "/jobs",
                    "job": f"/jobs/{ids['job']}",
                    "failed": "/failed",
                    "schedules": "/schedules",
                    "workers": "/workers",
                }
                for name, path in pages.items():
                    await shoot(page, dashboard.url + path, name)
                await browser.close()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
