"""One dashboard server and one chromium per test module; each test its own queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from tests.dashboard.browser import launch
from tests.dashboard.server import Dashboard, running_dashboard


@pytest.fixture(scope="module")
def dashboard(dev_env: WorkflowEnvironment) -> Iterator[Dashboard]:
    """``jobmodule dashboard`` on a free port, against the session's dev server."""
    address = str(dev_env.client.service_client.config.target_host)
    with running_dashboard(address) as server:
        yield server


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) per test."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
def fast_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers spawned by the test report every second, so figures show up quickly."""
    monkeypatch.setenv("JOBS_MONITOR_REPORT_SECONDS", "1")
