"""A job's policy on the wire: its defaults left out, and pinned."""

from __future__ import annotations

import json

from jobmodule.activities.batch_models import JobSpec
from jobmodule.activities.policy import JobPolicy
from jobmodule.batches.pages import spec_of
from tests import sample_jobs as jobs


def test_a_policy_is_written_without_its_defaults_and_read_back_whole() -> None:
    default = spec_of(jobs.Noop(i=1), "default")
    custom = spec_of(jobs.FlakyTwice(token="t"), "q")
    assert json.loads(default.model_dump_json())["policy"] == {}
    assert json.loads(custom.model_dump_json())["policy"] == {
        "queue": "q",
        "tries": 3,
        "backoff": [1.0, 2.0],
    }
    for spec in (default, custom):
        assert JobSpec.model_validate_json(spec.model_dump_json()) == spec
    assert default.policy.model_dump()["timeout"] == 60.0  # python mode keeps every field


def test_the_policy_defaults_are_pinned() -> None:
    """Policies in flight omit their defaults: changing one here changes jobs already queued."""
    assert JobPolicy().model_dump() == {
        "queue": "default",
        "tries": 1,
        "backoff": [0.0],
        "timeout": 60.0,
        "heartbeat_timeout": None,
        "deadline": None,
        "priority": None,
        "local": False,
        "fairness_key": None,
        "fairness_weight": None,
        "deadline_horizon": 600.0,
        "rate_limit": None,
        "max_concurrency": None,
        "overlap_key": None,
    }
