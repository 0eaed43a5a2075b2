"""Jobs into pages: how ``Bus.batch()`` and ``add()`` turn entries into ``BatchItem`` pages.

A page holds at most 1,000 jobs and about 1 MB, half of Temporal's 2 MB payload limit, so any
iterable, a generator of millions included, streams through in constant client memory. A plain
list is type-checked whole before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from jobmodule.activities import BatchItem, Job, JobSpec
from jobmodule.payloads import encode_payload_sized

PAGE_BYTES = 1024 * 1024
"""A page of jobs stays near 1 MB, half of Temporal's 2 MB payload limit."""
PAGE_JOBS = 1000
"""Jobs per page at most: one chunk workflow's worth."""
SPEC_OVERHEAD_BYTES = 200
"""Name and policy of a job spec, roughly, on top of its payload."""

SPREAD_OVER = 16
"""Activity tasks a one-page dispatch or add() is split into at least (if it has the jobs).

Each task costs the dev server ~7 ms of CPU whatever its size (200 CSV jobs cut into 40, 100
and 200 tasks took 0.64, 1.13 and 1.81 s of server CPU): 16 tasks of 12-13 jobs imported
15-25% faster than 40 of 5 in alternating runs, and still feed 16 worker slots."""


def spec_of(job: Job, queue: str | None) -> JobSpec:
    """A job as data, with the batch's queue if it names one."""
    return sized_spec_of(job, queue)[0]


def sized_spec_of(job: Job, queue: str | None) -> tuple[JobSpec, int]:
    """``spec_of`` and its approximate encoded size in bytes."""
    policy = job.resolved_policy()
    if queue is not None:
        policy = policy.model_copy(update={"queue": queue})
    payload, size = encode_payload_sized(job)
    return JobSpec(job=job.job_name(), payload=payload, policy=policy), size + SPEC_OVERHEAD_BYTES


def _is_chain(entry: Any) -> bool:
    return (
        isinstance(entry, list | tuple) and bool(entry) and all(isinstance(j, Job) for j in entry)
    )


def item_of(entry: Any, index: int, queue: str | None) -> tuple[BatchItem, int]:
    """A batch entry and its size: a Job, or a list/tuple of Jobs (a chain). Else a TypeError."""
    if isinstance(entry, Job):
        spec, size = sized_spec_of(entry, queue)
        return BatchItem(jobs=[spec]), size
    if _is_chain(entry):
        sized = [sized_spec_of(job, queue) for job in entry]
        return BatchItem(jobs=[spec for spec, _ in sized]), sum(size for _, size in sized)
    raise TypeError(
        f"batch item {index} is {type(entry).__name__}, not a Job or a list of Jobs (a chain)"
    )


def check_items(entries: Sequence[Any]) -> None:
    """Type-check a whole list up front, so a bad entry sends nothing."""
    for index, entry in enumerate(entries):
        if not isinstance(entry, Job) and not _is_chain(entry):
            item_of(entry, index, None)


def pages_of(
    entries: Iterable[Any], *, queue: str | None, page_size: int = PAGE_JOBS
) -> Iterator[tuple[list[BatchItem], bool]]:
    """Yield ``(page, is_last)``: pages of at most ``page_size`` jobs and about PAGE_BYTES."""
    page: list[BatchItem] = []
    jobs = size = 0
    pending: tuple[list[BatchItem], bool] | None = None
    for index, entry in enumerate(entries):
        item, item_size = item_of(entry, index, queue)
        if page and (jobs + len(item.jobs) > page_size or size + item_size > PAGE_BYTES):
            if pending is not None:
                yield pending
            pending = (page, False)
            page, jobs, size = [], 0, 0
        page.append(item)
        jobs += len(item.jobs)
        size += item_size
    if pending is not None:
        yield pending
    yield page, True


def spread_group_size(page: list[BatchItem], whole: bool) -> int | None:
    """Jobs per activity task for a page that is a whole dispatch or add(); None for the rest.

    Packing 100 jobs into one task is what makes a big batch of small jobs fast, but it puts a
    small batch of long jobs (200 CSV chunks, say) on one or two workers. A page that is all
    there is is cut into at least SPREAD_OVER tasks instead, so every worker process gets a
    share. The pages of a big dispatch keep full groups. Decided per page, so a batch started
    small and grown with add() still packs its big additions.
    """
    if not whole:
        return None
    jobs = sum(len(item.jobs) for item in page)
    return max(1, -(-jobs // SPREAD_OVER))


def first_queue(entries: Iterable[Any]) -> tuple[str | None, Iterable[Any]]:
    """The queue of the first job (the batch's default queue), without losing that job."""
    iterator = iter(entries)
    for first in iterator:
        job = first[0] if isinstance(first, list | tuple) and first else first
        queue = job.default_policy().queue if isinstance(job, Job) else None
        return queue, _chain_first(first, iterator)
    return None, ()


def _chain_first(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest
