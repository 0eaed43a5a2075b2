"""Actions: every button is a POST here (CSRF checked by the auth middleware), done through
the public API. Destructive ones answer first with a confirmation page, whose form repeats
the POST with ``confirmed=1``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from jobmodule.activities import JobModuleError
from jobmodule.batches import BatchHandle
from jobmodule.dashboard import format as fmt
from jobmodule.dashboard.pages import render
from jobmodule.dashboard.views.common import client_of
from jobmodule.failures import FailureHandler
from jobmodule.jobs import JobService
from jobmodule.schedules import JobScheduler

Run = Callable[[Client, str], Awaitable[str]]
"""Does the action on a target id; returns what to tell the user."""


@dataclass(frozen=True)
class Action:
    """One button: what it asks before it acts (None: no question) and what it does."""

    question: str | None
    run: Run
    button: str


async def _retry_job(client: Client, target: str) -> str:
    await FailureHandler().using(client).retry(target)
    return f"Job {target} sent to run again."


async def _forget_job(client: Client, target: str) -> str:
    await FailureHandler().using(client).forget(target)
    return f"Job {target} forgotten."


async def _retry_group(client: Client, target: str) -> str:
    sent = await FailureHandler().using(client).retry_group(target)
    return f"{sent} job(s) of group {target} sent to run again."


async def _forget_group(client: Client, target: str) -> str:
    sent = await FailureHandler().using(client).forget_group(target)
    return f"{sent} job(s) of group {target} forgotten."


async def _cancel_batch(client: Client, target: str) -> str:
    batch = await BatchHandle(id=target, client=client).cancel()
    return f"Batch {target} cancelled ({batch.pending_jobs} job(s) will not start)."


async def _retry_batch(client: Client, target: str) -> str:
    await BatchHandle(id=target, client=client).retry_failed()
    return f"Failed jobs of batch {target} sent to run again."


async def _cancel_job(client: Client, target: str) -> str:
    info = await JobService().using(client).cancel(target)
    return f"Job {target} is {info.status.value}."


async def _pause(client: Client, target: str) -> str:
    await JobScheduler().using(client).pause(target, note="paused from the dashboard")
    return f"Schedule {target} paused."


async def _resume(client: Client, target: str) -> str:
    await JobScheduler().using(client).resume(target, note="resumed from the dashboard")
    return f"Schedule {target} resumed."


async def _trigger(client: Client, target: str) -> str:
    await JobScheduler().using(client).trigger(target)
    return f"Schedule {target} triggered: a run starts now."


ACTIONS: dict[str, Action] = {
    "failed.retry": Action("Run failed job {target} again?", _retry_job, "Retry"),
    "failed.forget": Action(
        "Forget failed job {target}? It cannot be retried after.", _forget_job, "Forget"
    ),
    "group.retry": Action(
        "Run every job of failure group {target} again?", _retry_group, "Retry all"
    ),
    "group.forget": Action(
        "Forget every job of failure group {target}?", _forget_group, "Forget all"
    ),
    "batch.cancel": Action(
        "Cancel batch {target}? Its jobs not yet started never start.",
        _cancel_batch,
        "Cancel batch",
    ),
    "batch.retry_failed": Action(
        "Run the failed jobs of batch {target} again?", _retry_batch, "Retry failed"
    ),
    "job.cancel": Action("Cancel job {target}?", _cancel_job, "Cancel job"),
    "schedule.pause": Action(None, _pause, "Pause"),
    "schedule.resume": Action(None, _resume, "Resume"),
    "schedule.trigger": Action(None, _trigger, "Trigger"),
}


async def act(request: Request) -> Response:
    """``POST /actions/NAME`` with ``target`` (and ``back``, ``confirmed``)."""
    name = request.path_params["name"]
    action = ACTIONS.get(name)
    form = await request.form()
    target = str(form.get("target") or "")
    back = fmt.safe_back(str(form.get("back") or ""), default="/")
    if action is None or not target:
        return render(request, "not_found", status_code=404, message=f"No action {name!r}")
    if action.question and form.get("confirmed") != "1":
        return render(
            request,
            "confirm",
            question=action.question.format(target=target),
            action=name,
            target=target,
            back=back,
            button=action.button,
        )
    try:
        message = await action.run(client_of(request), target)
        key = "flash"
    except (JobModuleError, ValidationError, ValueError, RPCError) as error:
        message, key = f"{action.button} failed: {error}", "error"
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}{key}={quote(message)}", status_code=303)
