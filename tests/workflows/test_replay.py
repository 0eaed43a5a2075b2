"""Every saved history must replay on the current workflow code (determinism guard)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from jobmodule.settings import JobSettings
from jobmodule.worker import workflow_runner
from jobmodule.workflows import REPLAYED_WORKFLOWS

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_histories_are_saved_for_each_shipped_workflow():
    names = {path.stem for path in HISTORIES}
    assert {"job_success", "job_retries", "job_dead_letter_retry"} <= names
    assert {"batch", "batch_1", "batch_failure_retry", "batch_continue_as_new", "chain"} <= names
    assert {"coalesced_dead_letter", "coalesced_dead_letter_1", "coalesced_dead_letter_2"} <= names
    assert {"batch_callback_parked", "batch_callback_parked_1", "chain_catch_parked"} <= names
    assert {"batch_group_interrupted", "batch_dead_group", "batch_dead_group_resent"} <= names
    assert {"notifications", "batch_job_parked_and_recovered_2"} <= names
    assert {"job_cancel_parked", "job_cancelled"} <= names

    assert {"metrics", "metrics_1", "batch_counters_memo"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_saved_history_replays_without_nondeterminism(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())  # noqa: ASYNC240 - tiny file
    replayer = Replayer(
        workflows=REPLAYED_WORKFLOWS,
        data_converter=pydantic_data_converter,
        # In the sandbox, with jobmodule passed through, as the test suite's workers run them.
        workflow_runner=workflow_runner(JobSettings(workflow_sandbox=True)),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
