"""What every view shares: the client and config of the app, and chart data."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from temporalio.client import Client

from jobmodule.dashboard.pages import DashboardConfig
from jobmodule.monitoring import MinuteFigures


def client_of(request: Request) -> Client:
    """The Temporal client the app connected at startup."""
    client: Client = request.app.state.client
    return client


def config_of(request: Request) -> DashboardConfig:
    config: DashboardConfig = request.app.state.config
    return config


def chart_data(points: list[MinuteFigures], *, wait: bool = False) -> dict[str, Any]:
    """A throughput chart's columns for uPlot: unix seconds, processed, failed (and wait)."""
    data: dict[str, Any] = {
        "x": [int(point.at.timestamp()) for point in points],
        "processed": [point.processed for point in points],
        "failed": [point.failed for point in points],
    }
    if wait:
        data["wait"] = [point.avg_wait_s for point in points]
    return data
