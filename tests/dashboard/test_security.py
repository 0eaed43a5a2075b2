"""Who may use the dashboard: loopback or a token; the token on every page and action (login
cookie or bearer); CSRF on every POST."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.dashboard.server import REPO, Dashboard, running_dashboard

TOKEN = "s3cret-token-for-tests"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def request(
    url: str, *, headers: dict[str, str] | None = None, data: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of one request, redirects not followed."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=body, headers=headers or {})) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def guarded(dev_env: WorkflowEnvironment) -> Iterator[Dashboard]:
    """A dashboard with a token (on loopback, so the test needs no other interface)."""
    address = str(dev_env.client.service_client.config.target_host)
    with running_dashboard(address, token=TOKEN) as server:
        yield server


def test_a_non_loopback_host_without_a_token_refuses_to_start():
    environment = {k: v for k, v in os.environ.items() if k != "JOBS_DASHBOARD_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "jobmodule.cli.main", "dashboard", "--host", "0.0.0.0"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to serve the dashboard on 0.0.0.0" in result.stderr
    assert "JOBS_DASHBOARD_TOKEN" in result.stderr


def test_with_a_token_a_request_without_it_is_refused(guarded: Dashboard):
    status, headers, _ = request(guarded.url + "/failed", headers={"Accept": "text/html"})
    assert status == 303 and headers["location"] == "/login?next=%2Ffailed"
    status, _, body = request(guarded.url + "/workers")
    assert status == 401 and "needs its token" in body
    status, _, _ = request(guarded.url + "/", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, _, body = request(guarded.url + "/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and "Jobs per minute" in body


def test_a_post_without_the_csrf_token_is_refused(dashboard: Dashboard):
    status, _, body = request(
        dashboard.url + "/actions/schedule.pause", data={"target": "anything"}
    )
    assert status == 403 and "CSRF" in body
    status, _, _ = request(
        dashboard.url + "/actions/schedule.pause",
        data={"target": "anything", "csrf_token": "forged"},
        headers={"Cookie": "jm_csrf=another"},
    )
    assert status == 403


def test_a_foreign_host_header_is_refused_on_loopback(dashboard: Dashboard):
    status, _, _ = request(dashboard.url + "/", headers={"Host": "evil.example:80"})
    assert status == 400


async def test_logging_in_with_the_token_opens_every_page(guarded: Dashboard, page: Page):
    await page.goto(guarded.url + "/batches")
    await expect(page).to_have_url(guarded.url + "/login?next=%2Fbatches")
    await page.fill("input[name=token]", "not it")
    await page.click('form[action="/login"] button')
    await expect(page.locator(".flash.bad")).to_have_text("That is not the token.")
    await page.fill("input[name=token]", TOKEN)
    await page.click('form[action="/login"] button')
    await expect(page).to_have_url(guarded.url + "/batches")
    await expect(page.locator("h1")).to_have_text("Batches")
    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    session = cookies["jm_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert TOKEN not in session["value"]
    await page.click("text=Log out")
    await page.goto(guarded.url + "/workers")
    await expect(page).to_have_url(guarded.url + "/login?next=%2Fworkers")
