"""Pure logic behind the speed choices: group sizing, dev-server flags, workflow runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.batch_models import BatchItem, JobBatch, JobGroupInput, JobSpec
from activities.policy import JobPolicy
from client import JobSettings
from client.bus import SPREAD_OVER, pages_of, spec_of, spread_group_size
from client.dev_server import LOW_LATENCY_DYNAMIC_CONFIG, dev_server_command
from client.updates import execute_update
from tests import jobs
from worker import workflow_runner
from workflows.batch_models import BatchOptions, ChunkInput
from workflows.chunk import BatchChunkWorkflow, Entry


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


def test_the_dev_server_lifts_the_history_poll_rate_limits(tmp_path: Path) -> None:
    command = dev_server_command(JobSettings(state_dir=tmp_path), headless=True)
    for value in LOW_LATENCY_DYNAMIC_CONFIG:
        assert command[command.index(value) - 1] == "--dynamic-config-value"
    assert any(v.startswith("history.transferProcessorMaxPollRPS=") for v in command)


def test_workflows_run_unsandboxed_unless_the_sandbox_is_asked_for() -> None:
    assert isinstance(workflow_runner(JobSettings()), UnsandboxedWorkflowRunner)
    sandboxed = workflow_runner(JobSettings(workflow_sandbox=True))
    assert isinstance(sandboxed, SandboxedWorkflowRunner)


class ClosingThenAccepting:
    """A workflow handle whose first update meets a run closing for continue-as-new."""

    def __init__(self) -> None:
        self.calls = 0

    async def execute_update(self, name: str, *, args: Any, result_type: Any) -> str:
        self.calls += 1
        if self.calls == 1:
            raise RPCError("workflow is closing", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
        return f"{name} accepted"


async def test_an_update_that_meets_continue_as_new_is_sent_again() -> None:
    handle = ClosingThenAccepting()
    result = await execute_update(handle, "add_page", result_type=str)  # type: ignore[arg-type]
    assert (result, handle.calls) == ("add_page accepted", 2)


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
    }


def chunk_group_sizes(options: BatchOptions, page_group_size: int) -> list[int]:
    """Group sizes a chunk of 200 jobs picks for a page that asked for ``page_group_size``."""
    items = [BatchItem(jobs=[spec_of(jobs.Noop(i=i), "q")]) for i in range(200)]
    chunk = BatchChunkWorkflow()
    chunk._input = ChunkInput(
        batch_id="b",
        chunk_id="c",
        options=options,
        batch=JobBatch(id="b"),
        items=items,
        group_size=page_group_size,
    )
    entries = [Entry(key=f"c:{i}", jobs=item.jobs, chain=False) for i, item in enumerate(items)]
    return [len(group) for group in chunk._groups(entries)]


def test_a_tuned_group_size_wins_over_spreading_for_added_pages_too() -> None:
    spread = BatchOptions(group_size=50)
    tuned = BatchOptions(group_size=50, spread_small_pages=False)  # what tune(group_size=50) sets
    assert chunk_group_sizes(spread, page_group_size=5) == [5] * 40
    assert chunk_group_sizes(tuned, page_group_size=5) == [50] * 4
