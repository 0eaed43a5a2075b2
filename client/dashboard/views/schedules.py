"""Schedules: the cron in words, the next runs, the last outcome; Pause, Resume, Trigger."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of, config_of
from jobmodule.schedules import JobScheduler

NEXT_RUNS_SHOWN = 3


async def schedules(request: Request) -> Response:
    size = config_of(request).page_size
    after = request.query_params.get("after") or None
    rows = await JobScheduler().using(client_of(request)).summaries(limit=size + 1, after=after)
    shown = rows[:size]
    return render(
        request,
        "schedules",
        schedules=shown,
        next_runs_shown=NEXT_RUNS_SHOWN,
        next_url=fmt.with_query("/schedules", after=shown[-1].id) if len(rows) > size else None,
    )
