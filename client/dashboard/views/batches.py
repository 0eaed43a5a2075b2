"""Batches: progress bars with their counters, newest first, a page at a time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from jobmodule.batches import list_batches
from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of, config_of


async def batches(request: Request) -> Response:
    token = request.query_params.get("page") or None
    page = await list_batches(
        client_of(request), limit=config_of(request).page_size, page_token=token
    )
    return render(
        request,
        "batches",
        batches=page.batches,
        next_url=fmt.with_query("/batches", page=page.next_page_token)
        if page.next_page_token
        else None,
    )
