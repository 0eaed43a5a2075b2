"""Serving the dashboard: the bind check, the app's config from settings, uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from temporalio.client import Client

from jobmodule.connection import connect
from jobmodule.dashboard.app import create_app
from jobmodule.dashboard.auth import check_bind, is_loopback
from jobmodule.dashboard.pages import DashboardConfig
from jobmodule.settings import JobSettings


def config_from(settings: JobSettings, namespace: str) -> DashboardConfig:
    """The dashboard's config out of ``JOBS_*`` settings."""
    token = settings.dashboard_token.get_secret_value() if settings.dashboard_token else None
    return DashboardConfig(token=token or None, ui_url=settings.web_ui_url, namespace=namespace)


class _SignalFreeServer(uvicorn.Server):
    """A uvicorn server that leaves signals alone: inside ``jobmodule dev`` the worker owns
    SIGINT/SIGTERM (its graceful drain), and the dashboard stops when its task is cancelled."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_server(
    settings: JobSettings,
    *,
    host: str,
    port: int,
    client: Client | None = None,
    namespace: str = "default",
    own_signals: bool = True,
) -> uvicorn.Server:
    """A uvicorn server for the dashboard; raises HostNotAllowedError for an open bind."""
    config = config_from(settings, client.namespace if client else namespace)
    check_bind(host, config.token)

    async def client_factory() -> Client:
        return client if client is not None else await connect()

    app = create_app(config, client_factory, loopback_only=is_loopback(host))
    server_config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    return uvicorn.Server(server_config) if own_signals else _SignalFreeServer(server_config)


async def serve(
    settings: JobSettings,
    *,
    host: str,
    port: int,
    client: Client | None = None,
    own_signals: bool = True,
) -> None:
    """Serve until Ctrl-C (``own_signals``) or until cancelled (inside ``jobmodule dev``)."""
    server = build_server(settings, host=host, port=port, client=client, own_signals=own_signals)
    try:
        await server.serve()
    except asyncio.CancelledError:
        server.should_exit = True
        raise
