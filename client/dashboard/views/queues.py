"""Queues: per queue the ``QueueStats`` figures and a chart of its throughput and wait."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import chart_data, client_of, config_of
from jobmodule.monitoring import JobMonitor


async def queues(request: Request) -> Response:
    """Every queue, a page at a time; ``?queue=NAME`` shows that one queue alone."""
    monitor = JobMonitor().using(client_of(request))
    rows = await monitor.get_queue_stats(queue=request.query_params.get("queue") or None)
    size = config_of(request).page_size
    given = request.query_params.get("start", "0")
    start = max(0, int(given)) if given.isdigit() else 0
    shown = rows[start : start + size]
    series = await monitor.series_by_queue([row.queue for row in shown])
    return render(
        request,
        "queues",
        queues=shown,
        charts={name: chart_data(points, wait=True) for name, points in series.items()},
        next_start=start + size if start + size < len(rows) else None,
        total=len(rows),
    )
