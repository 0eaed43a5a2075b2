"""The dashboard's pure helpers: the bind rule, secrets, CSRF, and how figures read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from jobmodule.dashboard import HostNotAllowedError, check_bind
from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.auth import (
    CSRF_COOKIE,
    bearer_of,
    csrf_ok,
    is_loopback,
    same,
    session_value,
)
from tests.dashboard import browser

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_token(host: str):
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.4", "::", "example.com"])
def test_any_other_host_needs_a_token(host: str):
    with pytest.raises(HostNotAllowedError, match="JOBS_DASHBOARD_TOKEN"):
        check_bind(host, None)
    check_bind(host, "a-token")


def test_the_session_cookie_is_an_hmac_of_the_token_not_the_token():
    value = session_value("hunter2")
    assert "hunter2" not in value and len(value) == 64
    assert value == session_value("hunter2") != session_value("hunter3")
    assert same(value, session_value("hunter2"))
    assert not same(None, value) and not same("", "")


def test_bearer_header_is_read_case_insensitively():
    assert bearer_of(Headers({"authorization": "Bearer abc"})) == "abc"
    assert bearer_of(Headers({"authorization": "bearer  abc "})) == "abc"
    assert bearer_of(Headers({"authorization": "Basic abc"})) is None
    assert bearer_of(Headers({})) is None


def test_csrf_needs_the_cookie_repeated_in_the_form_or_header():
    cookies = {CSRF_COOKIE: "tok"}
    assert csrf_ok(Headers(FORM), cookies, b"target=x&csrf_token=tok")
    assert csrf_ok(Headers({"x-csrf-token": "tok"}), cookies, b"")
    assert not csrf_ok(Headers(FORM), cookies, b"target=x")
    assert not csrf_ok(Headers(FORM), cookies, b"csrf_token=other")
    assert not csrf_ok(Headers(FORM), {}, b"csrf_token=tok")  # no cookie: nothing to match
    assert not csrf_ok(Headers({"content-type": "text/plain"}), cookies, b"csrf_token=tok")


def test_figures_read_short():
    assert fmt.seconds(None) == "–"
    assert fmt.seconds(0.042) == "42 ms"
    assert fmt.seconds(3.25) == "3.2 s"
    assert fmt.seconds(95) == "1m 35s"
    assert fmt.seconds(7322) == "2h 02m"
    assert fmt.count(10000) == "10,000" and fmt.count(2.5) == "2.5" and fmt.count(3.0) == "3"
    assert fmt.percent(1, 3) == 33 and fmt.percent(5, 0) == 0 and fmt.percent(9, 3) == 100
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert fmt.ago(now - timedelta(seconds=5), now) == "5.0 s ago"
    assert fmt.ago(now, now) == "now"
    assert fmt.ago(now + timedelta(seconds=4), now) == "in 4.0 s"


def test_history_links_and_back_targets():
    assert (
        fmt.history_url("http://ui:8233", "default", "job/1", "run-9")
        == "http://ui:8233/namespaces/default/workflows/job%2F1/run-9/history"
    )
    assert fmt.with_query("/jobs", queue="q", job=None, page="") == "/jobs?queue=q"
    assert fmt.safe_back("/failed?group=x") == "/failed?group=x"
    for hostile in ("//evil.example", "https://evil.example", "/\\evil", "", None):
        assert fmt.safe_back(hostile, default="/") == "/"


def test_a_missing_chromium_fails_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(browser, "CHROMIUM_CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.delenv("JOBS_TEST_CHROMIUM", raising=False)
    with pytest.raises(AssertionError, match="apt-get install chromium"):
        browser.chromium_path()
