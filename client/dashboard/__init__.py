"""The web dashboard (``jobmodule dashboard``): overview, queues, jobs, failed, batches,
schedules and workers, with actions, over the public API. No state, no build step."""

from jobmodule.dashboard.app import create_app
from jobmodule.dashboard.auth import HostNotAllowedError, check_bind
from jobmodule.dashboard.pages import DashboardConfig
from jobmodule.dashboard.server import build_server, serve

__all__ = [
    "create_app",
    "DashboardConfig",
    "HostNotAllowedError",
    "check_bind",
    "build_server",
    "serve",
]
