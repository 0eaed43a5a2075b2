"""Debian's chromium, driven by Playwright: where it is and how it is started.

Browser downloads are impossible here (``playwright install`` is never run), so Playwright
launches the system package. A missing browser fails the tests with the command that fixes it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.async_api import Browser, Playwright

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""The background-networking flags keep chromium from calling out of this closed network."""


def chromium_path() -> str:
    """The system chromium, or an AssertionError that says how to install it."""
    given = os.environ.get("JOBS_TEST_CHROMIUM")
    for candidate in (given, *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise AssertionError(
        "chromium is not installed: the dashboard tests drive Debian's chromium. "
        "Run `apt-get install chromium` (CI's .ci/run does), or set JOBS_TEST_CHROMIUM."
    )


async def launch(playwright: Playwright) -> Browser:
    """Headless chromium from the system package, without any network of its own."""
    return await playwright.chromium.launch(
        executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
    )
