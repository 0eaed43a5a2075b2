"""The dashboard's ASGI app: routes, the login form, static files, the auth middleware.

It holds no state but a Temporal client: every figure is read, and every action done, through
the public API (``JobMonitor``, ``JobService``, ``FailureHandler``, ``BatchHandle``,
``JobScheduler``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from temporalio.client import Client

from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.auth import SESSION_COOKIE, AuthMiddleware, same, session_value, set_cookie
from jobmodule.dashboard.pages import HERE, DashboardConfig, render
from jobmodule.dashboard.views.actions import act
from jobmodule.dashboard.views.batches import batches
from jobmodule.dashboard.views.failed import failed
from jobmodule.dashboard.views.jobs import job, jobs
from jobmodule.dashboard.views.overview import overview
from jobmodule.dashboard.views.queues import queues
from jobmodule.dashboard.views.schedules import schedules
from jobmodule.dashboard.views.workers import workers

log = logging.getLogger("jobmodule.dashboard")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
"""Host headers a loopback-only dashboard answers: a page of another site that resolves its
own name to 127.0.0.1 (DNS rebinding) gets a 400, not the dashboard."""


async def login_form(request: Request) -> Response:
    return render(request, "login", next=fmt.safe_back(request.query_params.get("next")))


async def login(request: Request) -> Response:
    """Check the token; on success set the session cookie (HttpOnly, SameSite=Strict)."""
    config: DashboardConfig = request.app.state.config
    form = await request.form()
    given = str(form.get("token") or "")
    target = fmt.safe_back(str(form.get("next") or ""))
    if config.token is None:
        return RedirectResponse(target, status_code=303)
    if not same(given, config.token):
        return render(request, "login", status_code=401, next=target, wrong=True)
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response, SESSION_COOKIE, session_value(config.token), secure=request.url.scheme == "https"
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def server_error(request: Request, error: Exception) -> Response:
    """A page that says what went wrong (Temporal down, most often) instead of a bare 500;
    htmx keeps the last figures on screen, since it does not swap in an error reply."""
    log.exception("dashboard page %s failed", request.url.path)
    message = f"{type(error).__name__}: {error}"
    return render(request, "error", status_code=502, message=message)


def create_app(
    config: DashboardConfig,
    connect: Callable[[], Awaitable[Client]],
    *,
    loopback_only: bool = True,
) -> Starlette:
    """The dashboard app; ``connect`` makes its Temporal client when the server starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.client = await connect()
        yield

    middleware = [Middleware(AuthMiddleware, token=config.token)]
    if loopback_only:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_HOSTS))
    app = Starlette(
        routes=[
            Route("/", overview),
            Route("/queues", queues),
            Route("/jobs", jobs),
            Route("/jobs/{job_id:path}", job),
            Route("/failed", failed),
            Route("/batches", batches),
            Route("/schedules", schedules),
            Route("/workers", workers),
            Route("/actions/{name}", act, methods=["POST"]),
            Route("/login", login_form),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={Exception: server_error},
    )
    app.state.config = config
    return app
