"""Jobs: the search (id, job class, queue, status, batch id) and one job's page, through
``JobService``."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of, config_of
from jobmodule.errors import JobNotFoundError
from jobmodule.jobs import JobService
from jobmodule.workflows import JobState

FILTERS = ("job", "queue", "status", "batch")
OPEN_STATES = {JobState.QUEUED, JobState.RUNNING, JobState.RETRYING}


async def jobs(request: Request) -> Response:
    params = request.query_params
    job_id = (params.get("id") or "").strip()
    if job_id:
        return RedirectResponse(f"/jobs/{quote(job_id, safe='')}", status_code=303)
    given = {name: (params.get(name) or "").strip() or None for name in FILTERS}
    error = None
    page = None
    try:
        page = (
            await JobService()
            .using(client_of(request))
            .list(
                job=given["job"],
                queue=given["queue"],
                status=given["status"],
                batch_id=given["batch"],
                limit=config_of(request).page_size,
                page_token=params.get("page") or None,
            )
        )
    except ValueError as bad:
        error = str(bad)
    next_url = None
    if page is not None and page.next_page_token:
        next_url = fmt.with_query("/jobs", **given, page=page.next_page_token)
    return render(
        request,
        "jobs",
        filters=given,
        states=[state.value for state in JobState],
        rows=page.jobs if page else [],
        next_url=next_url,
        search_error=error,
    )


async def job(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    config = config_of(request)
    try:
        info = await JobService().using(client_of(request)).find(job_id)
    except JobNotFoundError as missing:
        return render(request, "not_found", status_code=404, message=str(missing))
    history = None
    if info.workflow_id:
        history = fmt.history_url(config.ui_url, config.namespace, info.workflow_id, info.run_id)
    return render(
        request,
        "job",
        job=info,
        history_url=history,
        cancellable=info.status in OPEN_STATES,
        dead_lettered=info.status == JobState.DEAD_LETTERED,
    )
