"""Queues: per queue the ``QueueStats`` figures and a chart of its throughput and wait."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import chart_data, client_of, config_of
from jobmodule.monitoring import JobMonitor


async def queues(request: Request) -> Response:
    monitor = JobMonitor().using(client_of(request))
    rows = await monitor.get_queue_stats()
    size = config_of(request).page_size
    start = max(0, int(request.query_params.get("start", "0") or 0))
    shown = rows[start : start + size]
    series = await asyncio.gather(
        *(monitor.series(queue=row.queue, window=timedelta(hours=1)) for row in shown)
    )
    return render(
        request,
        "queues",
        queues=shown,
        charts={
            row.queue: chart_data(points, wait=True)
            for row, points in zip(shown, series, strict=True)
        },
        next_start=start + size if start + size < len(rows) else None,
        total=len(rows),
    )
