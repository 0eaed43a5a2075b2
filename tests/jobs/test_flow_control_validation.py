"""Bad priority, fairness and limit settings are refused before anything is sent, saying what
is allowed; the rules themselves (names, rates, the deadline boost) as fast unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from jobmodule import Job, JobDefinitionError
from jobmodule.activities import JobPolicy, parse_rate
from jobmodule.activities.flow import effective_priority, limiters_for
from jobmodule.activities.priority import default_fairness_key
from tests import sample_jobs as jobs


def define(name: str, **attributes: object) -> type[Job]:
    namespace = {"__module__": __name__, "__annotations__": {"customer_id": "int"}, **attributes}
    return type(name, (Job,), namespace)


@pytest.mark.parametrize(
    ("attributes", "says"),
    [
        ({"priority": "urgent"}, "'high' (1), 'normal' (3), 'low' (5)"),
        ({"rate_limit": "20/x"}, "'N/s', 'N/m' or 'N/h'"),
        ({"max_concurrency": 0}, "max_concurrency must be a whole number >= 1"),
        ({"without_overlapping": "tenant"}, "its fields are: customer_id"),
        ({"fairness_key": "k" * 65}, "1 to 64 bytes"),
        ({"fairness_weight": 0}, "greater than or equal to 0.001"),
    ],
)
def test_a_bad_class_setting_is_refused_when_the_class_is_defined(
    attributes: dict[str, object], says: str
) -> None:
    with pytest.raises(JobDefinitionError) as raised:
        define("BadFlowJob", **attributes)
    assert says in str(raised.value)


def test_priority_names_and_numbers_both_work() -> None:
    assert define("HighJob", priority="high").default_policy().priority == 1
    assert define("LowJob", priority="low").default_policy().priority == 5
    assert JobPolicy(priority="normal").priority == JobPolicy(priority="default").priority == 3
    assert JobPolicy(priority=2).priority == 2


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (lambda p: p.priority("urgent"), "unknown priority 'urgent'"),
        (lambda p: p.priority(9), "less than or equal to 5"),
        (lambda p: p.fairness("t" * 65), "1 to 64 bytes"),
        (lambda p: p.fairness("tenant", weight=-1), "greater than or equal to 0.001"),
        (lambda p: p.without_overlapping(""), "1 to 200 characters"),
    ],
)
def test_a_bad_dispatch_option_is_refused_before_anything_is_sent(
    option: object, says: str
) -> None:
    pending = jobs.Add.dispatch(a=1)
    with pytest.raises(ValidationError) as raised:
        option(pending).build_input()  # type: ignore[operator]
    assert says in str(raised.value)


def test_rates_parse_and_bad_ones_say_the_forms() -> None:
    assert parse_rate("20/s").interval == pytest.approx(0.05)
    assert parse_rate("30 / m").per == 60.0
    assert parse_rate("2/h").interval == 1800.0
    for bad in ("20/x", "0/s", "fast", "1.5/s"):
        with pytest.raises(ValueError, match="'N/s', 'N/m' or 'N/h'"):
            parse_rate(bad)


def test_a_deadline_within_its_horizon_raises_the_job_one_level() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    far = JobPolicy(deadline=now + timedelta(minutes=30))
    near = JobPolicy(deadline=now + timedelta(minutes=5))
    assert effective_priority(JobPolicy(), now) is None
    assert effective_priority(far, now) is None
    assert effective_priority(far, now + timedelta(minutes=21)) == 2  # retried later: raised
    assert effective_priority(near, now) == 2
    assert effective_priority(near.model_copy(update={"priority": 1}), now) == 1
    wide = far.model_copy(update={"deadline_horizon": 3600})
    assert effective_priority(wide, now) == 2


def test_the_default_fairness_key_is_the_job_class_within_the_server_limit() -> None:
    assert default_fairness_key("app.jobs.SendInvoice") == "app.jobs.SendInvoice"
    long = "app." + "very_long_module." * 5 + "SendInvoice"
    key = default_fairness_key(long)
    assert len(key.encode()) <= 64 and key.endswith("SendInvoice")
    assert key != default_fairness_key(long.replace("app.", "other."))


def test_a_job_takes_its_lock_before_its_class_limits() -> None:
    capped = (
        jobs.Exclusive(path="p", tag="t", key="k1")
        .resolved_policy()
        .model_copy(update={"max_concurrency": 2})
    )
    refs = limiters_for(jobs.Exclusive.job_name(), capped)
    assert [ref.limiter_id.split(":")[0] for ref in refs] == ["jobmodule-lock", "jobmodule-limit"]
    assert refs[0].limiter_id.endswith(":k1") and refs[0].config.max_concurrency == 1
    assert limiters_for(jobs.Add.job_name(), JobPolicy()) == []


def test_new_policy_fields_at_their_defaults_stay_off_the_wire() -> None:
    policy = JobPolicy(rate_limit="5/s", overlap_key="c-7", fairness_key="tenant")
    wire = policy.model_dump(mode="json")
    assert wire == {"rate_limit": "5/s", "overlap_key": "c-7", "fairness_key": "tenant"}
    assert JobPolicy.model_validate(wire) == policy
