"""The dashboard in a real browser: each page shows what the test dispatched, the buttons act
through the public API, figures change without a reload, payloads are text."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from temporalio.client import Client

from jobmodule import (
    BatchHandle,
    Bus,
    FailureHandler,
    JobDeadLetteredError,
    JobHandle,
    JobScheduler,
    JobState,
)
from tests import sample_jobs as jobs
from tests.conftest import wait_until
from tests.dashboard.server import Dashboard

pytestmark = pytest.mark.usefixtures("fast_reports")
SEEN = 30_000
"""Milliseconds a page may take to show a figure: the workers report every second and the page
polls every 2 s, so this is the upper bound of a slow CI machine, not a wait."""


async def dead_lettered(handle: JobHandle) -> None:
    with pytest.raises(JobDeadLetteredError):
        await handle.result()


async def test_each_page_shows_the_jobs_the_test_dispatched(
    client: Client, queue: str, spawn_worker, dashboard: Dashboard, page: Page
):
    spawn_worker(queue)
    added = [await jobs.Add.dispatch(a=i, b=100).on_queue(queue) for i in range(3)]
    for handle in added:
        assert await handle.result() == handle_sum(added, handle)
    failing = await jobs.AlwaysFails.dispatch(token=f"pages-{queue}").on_queue(queue)
    await dead_lettered(failing)
    batch = await Bus.batch([jobs.Noop(i=i) for i in range(5)]).on_queue(queue).dispatch()
    await batch.wait()
    schedule_id = f"dash-{queue}"
    await JobScheduler().schedule(
        "tests.sample_jobs.Add", "0 3 * * *", payload={"a": 1}, id=schedule_id
    )
    await wait_until(lambda: FailureHandler().list(queue=queue))

    # Overview: the queue's row counts every job that finished: 3 + 1 failed + 5 in the batch.
    await page.goto(dashboard.url + "/")
    row = page.locator(f'tr[data-queue="{queue}"]')
    await expect(row.locator('[data-figure="processed"]')).to_have_text("9", timeout=SEEN)
    await expect(page.locator('[data-figure="workers_up"]')).not_to_have_text("0")
    await expect(page.locator("figure[data-chart] canvas")).to_have_count(1)

    # The session's server holds every earlier test's queues: the Queues page pages through
    # them, so the test opens its own queue's view, as the Overview's link does.
    await page.locator(f'tr[data-queue="{queue}"] a').click()
    await expect(page).to_have_url(f"{dashboard.url}/queues?queue={queue}")
    section = page.locator(f'section[data-queue="{queue}"]')
    await expect(section.locator('[data-figure="processed"]')).to_have_text("9", timeout=SEEN)
    await expect(section.locator('[data-figure="failed"]')).to_have_text("1")

    await page.goto(f"{dashboard.url}/jobs?queue={queue}&job=tests.sample_jobs.Add")
    for handle in added:
        await expect(page.locator(f'tr[data-job="{handle.id}"]')).to_contain_text("succeeded")
    await page.locator(f'tr[data-job="{added[0].id}"] a').first.click()
    await expect(page.locator('[data-figure="status"]')).to_have_text("succeeded")
    await expect(page.locator("[data-payload]")).to_contain_text('"b": 100')
    history = page.locator("[data-history]")
    assert added[0].id in (await history.get_attribute("href") or "")

    await page.goto(dashboard.url + "/failed")
    failed_row = page.locator(f'tr[data-failed-job="{failing.id}"]')
    await expect(failed_row).to_contain_text(f"ValueError: boom pages-{queue}")

    await page.goto(dashboard.url + "/batches")
    batch_row = page.locator(f'tr[data-batch="{batch.id}"]')
    await expect(batch_row.locator('[data-figure="progress"]')).to_have_text("100%")
    await expect(batch_row.locator('[data-figure="processed"]')).to_have_text("5")

    await page.goto(dashboard.url + "/schedules")
    schedule_row = page.locator(f'tr[data-schedule="{schedule_id}"]')
    await expect(schedule_row).to_contain_text("At 03:00")
    await expect(schedule_row.locator('[data-figure="state"]')).to_contain_text("active")

    await page.goto(dashboard.url + "/workers")
    worker_row = page.locator("tr[data-worker]", has_text=queue)
    await expect(worker_row).to_contain_text("up", timeout=SEEN)
    await JobScheduler().delete(schedule_id)


def handle_sum(added: list[JobHandle], handle: JobHandle) -> int:
    return added.index(handle) + 100


async def test_clicking_retry_on_a_failed_job_runs_it_again(
    client: Client, queue: str, spawn_worker, dashboard: Dashboard, page: Page, tmp_path: Path
):
    spawn_worker(queue)
    marker = tmp_path / "fixed"
    job = await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(queue)
    await dead_lettered(job)
    await wait_until(lambda: FailureHandler().list(queue=queue))
    marker.touch()  # the cause is fixed; the operator retries

    await page.goto(dashboard.url + "/failed")
    await page.locator(f'tr[data-failed-job="{job.id}"] button[data-action="failed.retry"]').click()
    await expect(page.locator(".question")).to_contain_text(job.id)  # the confirmation step
    assert await job.status() == JobState.DEAD_LETTERED  # nothing happened before it
    await page.locator("button[data-confirm]").click()
    await expect(page.locator(".flash.ok")).to_contain_text("sent to run again")
    assert await job.result() == "fixed"
    assert not await FailureHandler().list(queue=queue)


async def test_clicking_pause_on_a_schedule_pauses_it(
    client: Client, queue: str, dashboard: Dashboard, page: Page
):
    schedule_id = f"pause-{queue}"
    scheduler = JobScheduler()
    await scheduler.schedule(
        "tests.sample_jobs.Add", "*/5 * * * *", payload={"a": 1}, id=schedule_id
    )
    try:
        await page.goto(dashboard.url + "/schedules")
        row = page.locator(f'tr[data-schedule="{schedule_id}"]')
        await row.locator('button[data-action="schedule.pause"]').click()
        await expect(page.locator(".flash.ok")).to_contain_text(f"{schedule_id} paused")
        assert (await scheduler.get(schedule_id)).paused
        await expect(row.locator('[data-figure="state"]')).to_contain_text("paused")
        await row.locator('button[data-action="schedule.resume"]').click()
        await expect(page.locator(".flash.ok")).to_contain_text("resumed")
        assert not (await scheduler.get(schedule_id)).paused
    finally:
        await scheduler.delete(schedule_id)


async def test_clicking_cancel_on_a_running_batch_cancels_it(
    client: Client, queue: str, spawn_worker, dashboard: Dashboard, page: Page
):
    spawn_worker(queue, "--concurrency", "1")
    batch = await (
        Bus.batch([jobs.Sleeps(seconds=2, token=f"c{i}") for i in range(200)])
        .on_queue(queue)
        .dispatch()
    )
    await page.goto(dashboard.url + "/batches")
    row = page.locator(f'tr[data-batch="{batch.id}"]')
    await row.locator('button[data-action="batch.cancel"]').click()
    await page.locator("button[data-confirm]").click()
    await expect(page.locator(".flash.ok")).to_contain_text(f"Batch {batch.id} cancelled")
    status = await BatchHandle(id=batch.id, client=client).status()
    assert status.cancelled
    assert status.processed_jobs < 200
    await expect(row.locator('[data-figure="state"]')).to_contain_text("cancelled")


async def test_figures_change_on_the_page_without_a_reload(
    client: Client, queue: str, spawn_worker, dashboard: Dashboard, page: Page
):
    spawn_worker(queue)
    assert await (await jobs.Add.dispatch(a=1).on_queue(queue)).result() == 1
    await page.goto(f"{dashboard.url}/queues?queue={queue}")
    processed = page.locator(f'section[data-queue="{queue}"] [data-figure="processed"]')
    await expect(processed).to_have_text("1", timeout=SEEN)
    await page.evaluate("window.__sameDocument = 'still here'")
    for i in range(4):
        await (await jobs.Add.dispatch(a=i).on_queue(queue)).result()
    await expect(processed).to_have_text("5", timeout=SEEN)
    assert await page.evaluate("window.__sameDocument") == "still here"  # no navigation


async def test_a_script_in_a_payload_is_shown_as_text_and_does_not_run(
    client: Client, queue: str, spawn_worker, dashboard: Dashboard, page: Page
):
    spawn_worker(queue)
    evil = f"<script>window.__pwned = '{uuid.uuid4().hex}'</script><b>bold</b>"
    job = await jobs.AlwaysFails.dispatch(token=evil).on_queue(queue)
    await dead_lettered(job)
    await wait_until(lambda: FailureHandler().list(queue=queue))

    await page.goto(f"{dashboard.url}/jobs/{job.id}")
    await expect(page.locator("[data-payload]")).to_contain_text(evil)
    await expect(page.locator("[data-error-message]")).to_have_text(f"boom {evil}")
    await page.goto(dashboard.url + "/failed")
    await expect(page.locator(f'tr[data-failed-job="{job.id}"]')).to_contain_text(evil)
    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert await page.locator("b", has_text="bold").count() == 0
