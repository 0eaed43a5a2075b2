"""How jobs become pages and activity tasks: the sizing behind batch speed."""

from __future__ import annotations

from jobmodule.activities.batch_models import BatchItem, JobGroupInput
from jobmodule.batches.pages import SPREAD_OVER, pages_of, spec_of, spread_group_size
from tests import sample_jobs as jobs


def pages(count: int) -> list[tuple[list[BatchItem], bool]]:
    return list(pages_of((jobs.Noop() for _ in range(count)), queue=None, page_size=1000))


def test_a_page_that_is_the_whole_dispatch_is_cut_into_spread_over_tasks() -> None:
    [(page, last)] = pages(200)
    assert last
    size = spread_group_size(page, whole=True)
    assert size is not None and -(-200 // size) == SPREAD_OVER  # that many activity tasks
    [(page, _)] = pages(7)
    assert spread_group_size(page, whole=True) == 1


def test_the_pages_of_a_big_dispatch_keep_full_groups() -> None:
    many = pages(5_000)
    assert len(many) == 5
    assert all(spread_group_size(page, whole=False) is None for page, _ in many)


def test_decoded_jobs_with_the_same_policy_share_one_instance() -> None:
    same = [spec_of(jobs.Noop(i=i), "q") for i in range(3)]
    other = spec_of(jobs.FlakyTwice(token="t"), "q")  # tries=3, progressive backoff
    wire = JobGroupInput(
        batch={"id": "b"},  # type: ignore[arg-type]
        chunk_id="c",
        jobs=[{"index": i, "spec": spec} for i, spec in enumerate([*same, other])],  # type: ignore[misc]
        concurrency=1,
        stop_on_failure=False,
    ).model_dump_json()
    decoded = [job.spec for job in JobGroupInput.model_validate_json(wire).jobs]
    assert len({id(spec.policy) for spec in decoded[:3]}) == 1
    assert decoded[3].policy is not decoded[0].policy
    assert decoded[3].policy == other.policy and decoded[0].policy == same[0].policy
