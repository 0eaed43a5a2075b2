"""Rendering: the Jinja2 environment (autoescape on) and the page-or-fragment rule.

A page is a template ``NAME.html`` that includes ``NAME_live.html`` inside a block htmx polls
every 2 s; a poll (``HX-Request``) gets the fragment alone, so figures change without a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.auth import CSRF_FIELD, csrf_of

HERE = Path(__file__).parent
NAVIGATION = [
    ("/", "Overview"),
    ("/queues", "Queues"),
    ("/jobs", "Jobs"),
    ("/failed", "Failed"),
    ("/batches", "Batches"),
    ("/schedules", "Schedules"),
    ("/workers", "Workers"),
]
POLL_SECONDS = 2
SECURITY_HEADERS = {
    # Defence in depth beside autoescaping: no inline or foreign script runs, no framing.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard needs to know besides the client: set once at the edge."""

    token: str | None = None
    """The token every request must carry; None on loopback without one."""
    ui_url: str = "http://127.0.0.1:8233"
    """The Temporal Web UI, for history links."""
    namespace: str = "default"
    page_size: int = 25
    """Rows per page of every list (jobs, failures, batches, schedules)."""


def environment() -> Environment:
    """The templates, with autoescape on for every file: a payload is text, never markup."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        seconds=fmt.seconds,
        ago=fmt.ago,
        when=fmt.when,
        count=fmt.count,
        pretty_json=fmt.pretty_json,
    )
    env.globals.update(percent=fmt.percent, with_query=fmt.with_query, nav=NAVIGATION)
    return env


TEMPLATES = environment()


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``name``, or only its live fragment when htmx polls for it."""
    live = (
        bool(request.headers.get("hx-request"))
        and (HERE / "templates" / f"{name}_live.html").exists()
    )
    template = TEMPLATES.get_template(f"{name}_live.html" if live else f"{name}.html")
    config: DashboardConfig = request.app.state.config
    html = template.render(
        request=request,
        page=name,
        path=request.url.path,
        poll_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        poll_seconds=POLL_SECONDS,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_of(request),
        flash=request.query_params.get("flash"),
        flash_error=request.query_params.get("error"),
        logged_in=config.token is not None and getattr(request.state, "signed_in", False),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
