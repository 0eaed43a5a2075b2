"""Helper of :mod:`jobmodule.schedules.scheduler`: arguments into schedule parts, and back.

:func:`build_plan` validates a schedule's arguments and builds the Temporal parts (spec, action,
policy, memo) without sending anything; :func:`read_schedule` turns a server description into a
:class:`JobSchedule`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError

from jobmodule.activities import Job, ids, registry
from jobmodule.durations import as_timedelta
from jobmodule.errors import JobNotFoundError
from jobmodule.jobs.dispatch import PendingDispatch
from jobmodule.jobs.handle import JobHandle
from jobmodule.rpc import not_found as not_found_as
from jobmodule.schedules.cron import cron_to_schedule_spec, describe_cron, validate_cron
from jobmodule.schedules.models import (
    MEMO_KEY,
    OVERLAP_POLICIES,
    JobSchedule,
    OverlapName,
    ScheduleMeta,
    ScheduleNotFoundError,
    ScheduleOptions,
    ScheduleRun,
)
from jobmodule.settings import JobSettings
from jobmodule.workflows import JobInput, JobWorkflow, job_start

NEXT_RUNS_SHOWN = 5
"""How many next run times a ``JobSchedule`` carries."""

JobRef = str | type[Job] | Job
"""A job name (``"app.jobs.DailyReport"``), a Job class, or a Job instance with its payload."""
OptionsArg = Mapping[str, Any] | ScheduleOptions | None


def default_schedule_id(job: str, cron: str, payload: Mapping[str, Any], timezone: str) -> str:
    """The id ``schedule()`` uses without ``id=``: the job's class name plus a hash.

    The hash covers the job name, the normalized cron expression (``@daily`` and ``0 0 * * *``
    are one schedule), the payload and the time zone; options are left out, so changing them
    updates the schedule.
    """
    identity = {"job": job, "cron": validate_cron(cron), "payload": payload, "timezone": timezone}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return ids.schedule_id(job, hashlib.sha256(text.encode()).hexdigest()[:16])


@dataclasses.dataclass(frozen=True)
class Plan:
    """A validated schedule, ready to create or to replace an existing one with."""

    id: str
    meta: ScheduleMeta
    action: ScheduleActionStartWorkflow
    spec: ScheduleSpec
    policy: SchedulePolicy


def build_plan(
    job: JobRef,
    cron: str,
    options: OptionsArg,
    *,
    payload: Mapping[str, Any] | None,
    schedule_id: str | None,
    timezone: str,
    overlap: OverlapName | ScheduleOverlapPolicy,
    jitter: timedelta | float | None,
    start_at: datetime | None,
    end_at: datetime | None,
    settings: JobSettings | None = None,
) -> Plan:
    """Validate everything and build the schedule's parts; sends nothing."""
    spec = cron_to_schedule_spec(cron, timezone)
    instance = job_instance(job, payload)
    given = ScheduleOptions.model_validate(options or {})
    job_input = given.apply(PendingDispatch(instance, settings=settings)).build_input()
    schedule_id = schedule_id or default_schedule_id(
        job_input.job, cron, job_input.payload, timezone
    )
    zone = ZoneInfo(timezone)
    spec = dataclasses.replace(
        spec,
        jitter=as_timedelta(jitter) if jitter else None,
        start_at=aware(start_at, zone) if start_at else None,
        end_at=aware(end_at, zone) if end_at else None,
    )
    meta = ScheduleMeta(
        job=job_input.job, cron=cron.strip(), timezone=timezone, options=given.given()
    )
    return Plan(
        id=schedule_id,
        meta=meta,
        action=start_action(schedule_id, instance, job_input, meta),
        spec=spec,
        policy=SchedulePolicy(overlap=overlap_policy(overlap)),
    )


async def read_schedule(client: Client, description: ScheduleDescription) -> JobSchedule:
    """A described schedule as a JobSchedule, with the outcome of each recent run."""
    meta = await schedule_meta(client, description)
    job_input = await scheduled_job_input(client, description)
    zone = ZoneInfo(meta.timezone)
    info = description.info
    recent = list(reversed(info.recent_actions))
    job_ids = [
        run.action.workflow_id
        if isinstance(run.action, ScheduleActionExecutionStartWorkflow)
        else ""
        for run in recent
    ]
    outcomes = await asyncio.gather(*(run_outcome(client, job_id) for job_id in job_ids))
    state = description.schedule.state
    overlap = description.schedule.policy.overlap
    return JobSchedule(
        id=description.id,
        job=job_input.job,
        cron=meta.cron,
        timezone=meta.timezone,
        description=describe_cron(meta.cron),
        payload=job_input.payload,
        options=meta.options,
        overlap=next((k for k, v in OVERLAP_POLICIES.items() if v == overlap), str(overlap)),
        paused=state.paused,
        note=state.note,
        next_run_times=[t.astimezone(zone) for t in info.next_action_times[:NEXT_RUNS_SHOWN]],
        recent_runs=[
            ScheduleRun(
                time=run.scheduled_at.astimezone(zone),
                started_at=run.started_at.astimezone(zone),
                job_id=job_id,
                outcome=outcome,
            )
            for run, job_id, outcome in zip(recent, job_ids, outcomes, strict=True)
        ],
        created_at=info.created_at,
    )


def not_found(schedule_id: str) -> contextlib.AbstractContextManager[None]:
    """Turn the server's NOT_FOUND into ScheduleNotFoundError."""
    return not_found_as(lambda: ScheduleNotFoundError(schedule_id))


def job_instance(job: JobRef, payload: Mapping[str, Any] | None) -> Job:
    """The job to schedule, its payload validated (pydantic ValidationError if it is not)."""
    if isinstance(job, Job):
        if payload is not None:
            raise TypeError(
                "a Job instance carries its payload: pass payload= with a name or class"
            )
        return job
    if isinstance(job, str):
        job_class = registry.resolve_or_import(job)
    elif isinstance(job, type) and issubclass(job, Job):
        if job.__dict__.get("abstract", False):
            raise TypeError(f"{job.__qualname__} is an abstract job class; schedule a subclass")
        job_class = job
    else:
        raise TypeError(f"expected a job name, Job class or Job instance, got {job!r}")
    return job_class.model_validate(dict(payload or {}))


def overlap_policy(overlap: OverlapName | ScheduleOverlapPolicy) -> ScheduleOverlapPolicy:
    """An overlap policy by name (see OVERLAP_POLICIES)."""
    if isinstance(overlap, ScheduleOverlapPolicy):
        return overlap
    try:
        return OVERLAP_POLICIES[overlap]
    except KeyError:
        raise ValueError(
            f"unknown overlap policy {overlap!r}; use one of {', '.join(OVERLAP_POLICIES)}"
        ) from None


def aware(when: datetime, zone: ZoneInfo) -> datetime:
    """A naive datetime read as wall time in ``zone``; an aware one as it is."""
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def start_action(
    schedule_id: str, job: Job, job_input: JobInput, meta: ScheduleMeta
) -> ScheduleActionStartWorkflow:
    """Start a JobWorkflow as ``dispatch()`` would; Temporal appends the due time to the id."""
    start = job_start(job_input, summary=f"{job.summary()} · schedule {schedule_id}")
    return ScheduleActionStartWorkflow(
        JobWorkflow.run,
        job_input,
        id=schedule_id,
        task_queue=job_input.policy.queue,
        memo={MEMO_KEY: meta.model_dump(mode="json")},
        typed_search_attributes=start.search_attributes,
        static_summary=start.summary,
        priority=start.priority,
    )


async def schedule_meta(client: Client, description: ScheduleDescription) -> ScheduleMeta:
    """What the schedule was asked for: the action's memo (as last updated), else the schedule's
    own memo (as created). Raises ScheduleNotFoundError if JobScheduler did not make it."""
    action = description.schedule.action
    if isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "JobWorkflow":
        if action.memo and MEMO_KEY in action.memo:
            (value,) = await client.data_converter.decode([action.memo[MEMO_KEY]])
            return ScheduleMeta.model_validate(value)
        value = await description.memo_value(MEMO_KEY, None)
        if value is not None:
            return ScheduleMeta.model_validate(value)
    raise ScheduleNotFoundError(
        description.id, f"Schedule {description.id!r} exists but was not created by JobScheduler"
    )


async def scheduled_job_input(client: Client, description: ScheduleDescription) -> JobInput:
    """The JobInput every run of the schedule gets."""
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    (job_input,) = await client.data_converter.decode(list(action.args), [JobInput])
    assert isinstance(job_input, JobInput)
    return job_input


async def run_outcome(client: Client, job_id: str) -> str:
    """A run's ``JobHandle.status()``, or "unknown" if it cannot be read (e.g. it is gone)."""
    try:
        return str(await JobHandle(id=job_id, client=client).status())
    except (JobNotFoundError, RPCError):
        return "unknown"
