"""Pure logic behind the speed choices: group sizing, dev-server flags, workflow runner."""

from __future__ import annotations

from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from client import JobSettings
from client.bus import SPREAD_OVER, group_size_for, pages_of
from client.dev_server import LOW_LATENCY_DYNAMIC_CONFIG, dev_server_command
from tests import jobs
from worker import workflow_runner


def first_page(count: int) -> tuple[list, bool]:
    return next(pages_of((jobs.Noop() for _ in range(count)), queue=None, page_size=1000))


def test_a_one_page_batch_is_cut_into_at_least_spread_over_tasks() -> None:
    page, sealed = first_page(200)
    assert sealed
    assert group_size_for(page, sealed, 100) == 200 // SPREAD_OVER
    page, sealed = first_page(7)
    assert group_size_for(page, sealed, 100) == 1


def test_a_batch_of_many_pages_keeps_full_groups() -> None:
    page, sealed = first_page(5_000)
    assert not sealed
    assert group_size_for(page, sealed, 100) == 100


def test_a_sealed_full_page_is_never_grouped_above_the_default() -> None:
    page, sealed = first_page(1000)
    assert group_size_for(page, sealed, 10) == 10


def test_the_dev_server_lifts_the_history_poll_rate_limits(tmp_path) -> None:
    command = dev_server_command(JobSettings(state_dir=tmp_path), headless=True)
    for value in LOW_LATENCY_DYNAMIC_CONFIG:
        assert command[command.index(value) - 1] == "--dynamic-config-value"
    assert any(v.startswith("history.transferProcessorMaxPollRPS=") for v in command)


def test_workflows_run_unsandboxed_unless_the_sandbox_is_asked_for() -> None:
    assert isinstance(workflow_runner(JobSettings()), UnsandboxedWorkflowRunner)
    sandboxed = workflow_runner(JobSettings(workflow_sandbox=True))
    assert isinstance(sandboxed, SandboxedWorkflowRunner)
