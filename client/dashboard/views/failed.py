"""Failed: the root-cause groups with their counts, and the jobs of the group picked."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of, config_of
from jobmodule.failures import FailedJob, FailureHandler

GROUPS_SHOWN = 50
SCAN = 1000
"""Parked jobs read to find the groups (each group then counted exactly): a deep dead-letter
queue costs this page the same as a shallow one."""


async def failed(request: Request) -> Response:
    handler = FailureHandler().using(client_of(request))
    group = request.query_params.get("group") or None
    limit = config_of(request).page_size
    groups, rows, total = await asyncio.gather(
        handler.groups(scan=SCAN), handler.list(group=group, limit=limit + 1), handler.count()
    )
    jobs: list[FailedJob] = rows[:limit]
    return render(
        request,
        "failed",
        groups=groups[:GROUPS_SHOWN],
        more_groups=max(0, len(groups) - GROUPS_SHOWN),
        total=total,
        group=next((g for g in groups if g.id == group), None),
        group_id=group,
        jobs=jobs,
        more_jobs=len(rows) > limit,
    )
