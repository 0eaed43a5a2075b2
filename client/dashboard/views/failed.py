"""Failed: the root-cause groups with their counts, and the jobs of the group picked."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of, config_of
from jobmodule.failures import FailedJob, FailureHandler

GROUPS_SHOWN = 50


async def failed(request: Request) -> Response:
    handler = FailureHandler().using(client_of(request))
    group = request.query_params.get("group") or None
    limit = config_of(request).page_size
    groups, rows = await asyncio.gather(
        handler.groups(), handler.list(group=group, limit=limit + 1)
    )
    jobs: list[FailedJob] = rows[:limit]
    return render(
        request,
        "failed",
        groups=groups[:GROUPS_SHOWN],
        more_groups=max(0, len(groups) - GROUPS_SHOWN),
        total=sum(g.count for g in groups),
        group=next((g for g in groups if g.id == group), None),
        group_id=group,
        jobs=jobs,
        more_jobs=len(rows) > limit,
    )
