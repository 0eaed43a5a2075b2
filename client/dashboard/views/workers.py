"""Workers: every ``WorkerInfo`` the monitor knows, the lost ones marked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of
from jobmodule.monitoring import JobMonitor


async def workers(request: Request) -> Response:
    rows = await JobMonitor().using(client_of(request)).workers()
    rows.sort(key=lambda row: (row.status != "lost", row.status != "up", row.identity))
    return render(
        request,
        "workers",
        workers=rows,
        up=sum(1 for row in rows if row.status == "up"),
        lost=sum(1 for row in rows if row.status == "lost"),
    )
