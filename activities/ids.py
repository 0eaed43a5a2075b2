"""Every id jobmodule gives a workflow or a job, built and parsed here and nowhere else.

Ids are a wire format: the CLI, the dead-letter queue and ``retry_failed()`` read a job's place
back out of its id, and histories already written hold ids in these forms, so a change here
must keep parsing the old ones. Workflow code calls only the deterministic builders (no uuid).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

BATCH_PREFIX = "batch-"
CHAIN_PREFIX = "chain-"
CARRIER_PREFIX = "coalesced-"
"""Carrier batches of coalesced dispatches (``.coalesce()``)."""
LIMITER_PREFIX = "jobmodule-limit:"
"""Limiter workflows of a job class's rate and concurrency limits."""
LOCK_PREFIX = "jobmodule-lock:"
"""Limiter workflows that are a without-overlapping lock."""

METRICS_WORKFLOW_ID = "jobmodule-metrics"
"""The one metrics workflow of a namespace (``jobmodule.workflows.metrics``)."""

Callback = Literal["then", "catch", "finally"]


def _random() -> str:
    return uuid.uuid4().hex


def short_name(job: str) -> str:
    """The class part of a job name: ``app.jobs.ProcessUserData`` -> ``ProcessUserData``."""
    return job.rsplit(".", 1)[-1]


# -- built by clients (random) ----------------------------------------------------------------


def new_job_id(job: str) -> str:
    """A readable, unique job id: the class name plus a random suffix."""
    return f"{short_name(job)}-{_random()}"


def unique_job_id(job: str, key: str) -> str:
    """The id of a ``ShouldBeUnique`` job: one open job per job name and key."""
    return f"{job}:{key}"


def new_batch_id() -> str:
    """The workflow id of a new ``Bus.batch()``."""
    return f"{BATCH_PREFIX}{_random()}"


def new_chain_id() -> str:
    """The workflow id of a new ``Bus.chain()``."""
    return f"{CHAIN_PREFIX}{_random()}"


def new_carrier_id() -> str:
    """The workflow id of a new carrier batch of coalesced dispatches."""
    return f"{CARRIER_PREFIX}{_random()}"


def new_page_id() -> str:
    """The idempotency key of one page of jobs sent to a batch."""
    return _random()


def batch_operation_id(action: str) -> str:
    """The job id of a Temporal batch operation jobmodule starts (bulk retry, flush)."""
    return f"jobmodule-{action}-{_random()[:12]}"


def schedule_id(job: str, digest: str) -> str:
    """A schedule's default id: the job's class name and a digest of what it runs."""
    return f"{short_name(job)}-{digest}"


# -- built by workflows (deterministic) -------------------------------------------------------


def chunk_id(batch_id: str, number: int) -> str:
    """The workflow id of a batch's ``number``-th chunk (from 1)."""
    return f"{batch_id}-c{number:05d}"


def retry_chunk_id(batch_id: str, round: int, number: int) -> str:
    """The workflow id of the ``number``-th chunk of a batch's ``round``-th ``retry_failed()``."""
    return f"{batch_id}-r{round}-{number:05d}"


def batch_job_id(chunk: str, index: int) -> str:
    """The id a batch job reports (and is dead-lettered) under: its chunk and place there."""
    return f"{chunk}:{index}"


def chain_step_id(batch_job: str, step: int) -> str:
    """The id of step ``step`` (from 0) of a chain inside a batch, whose entry is ``batch_job``."""
    return f"{batch_job}.{step}"


def chain_job_id(chain: str, index: int) -> str:
    """The id of the ``index``-th job (from 0) of a ``Bus.chain()``."""
    return f"{chain}:{index}"


def chain_rest_id(step_job: str) -> str:
    """The chain that runs the steps after ``step_job``, once a retry of that parked step worked."""
    return f"{step_job}-rest"


def limiter_id(queue: str, job: str) -> str:
    """The workflow id of the limiter of a job class's rate and concurrency on a queue.

    Per queue, because the limiter runs on its jobs' queue: a limiter of a class on a queue
    that no worker polls any more would hold that class's jobs on other queues forever.
    """
    return f"{LIMITER_PREFIX}{queue}:{job}"


def overlap_lock_id(queue: str, job: str, key: str) -> str:
    """The workflow id of the without-overlapping lock of a job class and key on a queue."""
    return f"{LOCK_PREFIX}{queue}:{job}:{key}"


def permit_request_id(workflow_id: str, run_id: str, number: int) -> str:
    """The id of the ``number``-th permit request a workflow run makes (deterministic)."""
    return f"{workflow_id}/{run_id}/{number}"


def permit_request_number(request_id: str) -> int:
    """The run's own number of a permit request (what a replay, under any id, matches on)."""
    return int(request_id.rsplit("/", 1)[-1])


def callback_job_id(owner: str, which: Callback) -> str:
    """The id of a batch's or chain's then/catch/finally callback."""
    return f"{owner}:{which}"


# -- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchJobRef:
    """Where a batch job sits: its chunk, its index there, and its step if it is in a chain."""

    chunk_id: str
    index: int
    step: int = 0


_BATCH_JOB = re.compile(r"^(?P<chunk>.+):(?P<index>\d+)(?:\.(?P<step>\d+))?$")
_COALESCED_JOB = re.compile(rf"^(?P<carrier>{CARRIER_PREFIX}[0-9a-f]+)-c\d+:\d+$")


def parse_batch_job_id(job_id: str) -> BatchJobRef:
    """The chunk, index and chain step of a batch job's id; ValueError if it is not one."""
    match = _BATCH_JOB.match(job_id)
    if match is None:
        raise ValueError(f"{job_id!r} is not the id of a batch job (CHUNK:INDEX[.STEP])")
    return BatchJobRef(match["chunk"], int(match["index"]), int(match["step"] or 0))


def carrier_of(job_id: str) -> str | None:
    """The carrier batch of a coalesced job's id, or None for any other id."""
    match = _COALESCED_JOB.match(job_id)
    return match["carrier"] if match else None
